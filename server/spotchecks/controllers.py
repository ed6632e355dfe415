"""HTTP for random spot checks (双随机、一公开)."""

from __future__ import annotations

import uuid

from litestar import Controller, Response, get, post
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from schemas import spotchecks as wire
from schemas.vocab import Role
from server import database
from server.accounts.auth import requires_role
from server.api_docs import Bodies
from server.deps import AppContext, CurrentActor
from server.spotchecks import campaigns as spotcheck_campaigns
from server.spotchecks import draws as spotcheck_draws
from server.spotchecks import publication as spotcheck_publication
from server.spotchecks import tasks as spotcheck_tasks
from server.spotchecks import verification as spotcheck_verification

_READERS = (Role.SUPERVISOR, Role.LEADER, Role.ADMIN)


class SpotCheckController(Controller):
    path = "/api/v1/spot-checks"
    tags = ["双随机抽查 spot checks"]

    @post("/campaigns", guards=[requires_role(Role.SUPERVISOR)], status_code=HTTP_201_CREATED)
    async def create_campaign(
        self, data: JSONBody[wire.CampaignCreate], actor: CurrentActor, context: AppContext
    ) -> wire.Campaign:
        """新建抽查计划：期间、标签（如重点时段）、检查对象筛选与排除、抽查数量或比例、分层、执法人员库、组员人数、暗访或公开。"""
        async with database.transaction():
            return await spotcheck_campaigns.create_campaign(context, actor, data)

    @get("/campaigns", guards=[requires_role(*_READERS)])
    async def list_campaigns(self, actor: CurrentActor) -> list[wire.Campaign]:
        """抽查计划列表（不含抽查对象）。"""
        return await spotcheck_campaigns.list_campaigns(actor)

    @get("/campaigns/{campaign_id:uuid}", guards=[requires_role(*_READERS)])
    async def get_campaign(self, campaign_id: FromPath[uuid.UUID], actor: CurrentActor) -> wire.Campaign:
        """抽查计划详情（不含抽查对象）。"""
        return await spotcheck_campaigns.get_campaign(actor, campaign_id)

    @get("/campaigns/{campaign_id:uuid}/pool", guards=[requires_role(Role.SUPERVISOR)])
    async def preview_pool(
        self, campaign_id: FromPath[uuid.UUID], actor: CurrentActor, context: AppContext
    ) -> wire.PoolPreview:
        """预览抽取范围：此刻抽取将使用的检查对象名录（符合条件、被排除的及原因、分层）与执法人员库，不抽取也不记录。"""
        return await spotcheck_draws.preview_pool(context, actor, campaign_id)

    @post("/campaigns/{campaign_id:uuid}/draws", guards=[requires_role(Role.SUPERVISOR)], status_code=HTTP_201_CREATED)
    async def draw(
        self, campaign_id: FromPath[uuid.UUID], data: JSONBody[wire.DrawRequest], actor: CurrentActor,
        context: AppContext,
    ) -> wire.Draw:
        """抽取：先把种子哈希、名录快照哈希和算法版本写入审计链并提交，再揭晓结果。重新抽取须填写理由。"""
        # Two units of work on purpose: the commitment is durable before any result exists.
        async with database.transaction():
            committed = await spotcheck_draws.commit_draw(context, actor, campaign_id, data)
        async with database.transaction():
            return await spotcheck_draws.reveal_draw(context, actor, committed.id)

    @get("/campaigns/{campaign_id:uuid}/draws", guards=[requires_role(*_READERS)])
    async def list_draws(self, campaign_id: FromPath[uuid.UUID], actor: CurrentActor) -> list[wire.Draw]:
        """该计划的全部抽取记录（含被取代的）。"""
        return await spotcheck_draws.list_draws(actor, campaign_id)

    @get("/draws/{draw_id:uuid}", guards=[requires_role(*_READERS)])
    async def get_draw(self, draw_id: FromPath[uuid.UUID], actor: CurrentActor) -> wire.Draw:
        """一次抽取的承诺与结果摘要；计划负责人可见种子。"""
        return await spotcheck_draws.get_draw(actor, draw_id)

    @post("/draws/{draw_id:uuid}/reveal", guards=[requires_role(Role.SUPERVISOR)], status_code=HTTP_200_OK)
    async def reveal(self, draw_id: FromPath[uuid.UUID], actor: CurrentActor, context: AppContext) -> wire.Draw:
        """揭晓一次已承诺但尚未揭晓的抽取（抽取中断后继续）。"""
        async with database.transaction():
            return await spotcheck_draws.reveal_draw(context, actor, draw_id)

    @get("/draws/{draw_id:uuid}/verify", guards=[requires_role(*_READERS)])
    async def verify(self, draw_id: FromPath[uuid.UUID], actor: CurrentActor) -> wire.DrawVerification:
        """复核：用记录的输入重新运行抽取，逐项比对；不一致时列出差异所在。"""
        return await spotcheck_verification.verify_draw(actor, draw_id)

    @get("/draws/{draw_id:uuid}/inputs", guards=[requires_role(*_READERS)])
    async def inputs(self, draw_id: FromPath[uuid.UUID], actor: CurrentActor) -> wire.DrawInputs:
        """抽取的全部输入（名录快照、种子）与结果，供任何人按公开算法独立复算；发布前仅本计划负责人可取。"""
        return await spotcheck_verification.draw_inputs(actor, draw_id)

    @get("/campaigns/{campaign_id:uuid}/tasks", guards=[requires_role(Role.SUPERVISOR)])
    async def list_tasks(
        self, campaign_id: FromPath[uuid.UUID], actor: CurrentActor, context: AppContext
    ) -> list[wire.SpotCheckTask]:
        """抽中的检查对象、检查组和日期（仅本计划负责人可见）。"""
        return await spotcheck_tasks.list_tasks(context, actor, campaign_id)

    @get("/campaigns/{campaign_id:uuid}/progress", guards=[requires_role(*_READERS)])
    async def progress(
        self, campaign_id: FromPath[uuid.UUID], actor: CurrentActor, context: AppContext
    ) -> wire.CampaignProgress:
        """进度：已抽取、已发布、已完成、逾期。"""
        return await spotcheck_tasks.progress(context, actor, campaign_id)

    @get("/campaigns/{campaign_id:uuid}/results", guards=[requires_role(*_READERS)])
    async def results(
        self, campaign_id: FromPath[uuid.UUID], actor: CurrentActor, context: AppContext
    ) -> list[wire.PublicResult]:
        """一公开：已完成检查的企业、日期与结果（不含个人信息）。"""
        return await spotcheck_publication.public_results(context, actor, campaign_id)

    @get(
        "/campaigns/{campaign_id:uuid}/results.csv",
        guards=[requires_role(*_READERS)],
        media_type="text/csv",
        opt={"doc": Bodies(responses={200: {"text/csv": None}}, headers={200: {"content-disposition": "attachment"}})},
    )
    async def results_csv(
        self, campaign_id: FromPath[uuid.UUID], actor: CurrentActor, context: AppContext
    ) -> Response[str]:
        """一公开结果的 CSV 文件。"""
        rows = await spotcheck_publication.public_results(context, actor, campaign_id)
        return Response(
            spotcheck_publication.results_csv(rows),
            media_type="text/csv",  # Litestar adds "; charset=utf-8"
            headers={"content-disposition": f'attachment; filename="spot-check-results-{campaign_id}.csv"'},
        )

    @get("/my-tasks", guards=[requires_role(Role.INSPECTOR)])
    async def my_tasks(self, actor: CurrentActor) -> list[wire.AssignedTask]:
        """本人的抽查任务：暗访任务发布前只显示日期和区县。"""
        return await spotcheck_tasks.my_tasks(actor)
