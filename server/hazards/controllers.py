"""HTTP for hazards, rechecks (回头看) and look-back campaigns."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, get, post
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from schemas import hazards as wire
from schemas.audit import AuditRecord
from schemas.hazards import RecheckStatus
from schemas.vocab import HazardLevel, HazardStatus, Role
from server import database
from server.accounts.auth import requires_role
from server.deps import AppContext, AppSettings, CurrentActor
from server.hazards import escalation, lifecycle, recheck_results
from server.hazards import lookback as hazard_lookback
from server.hazards import rechecks as hazard_rechecks

EVERYONE = requires_role(Role.INSPECTOR, Role.SUPERVISOR, Role.LEADER, Role.ADMIN)
RECORDERS = requires_role(Role.INSPECTOR, Role.SUPERVISOR)
Limit = Annotated[int, QueryParameter(ge=1, le=500)]
Offset = Annotated[int, QueryParameter(ge=0, le=1_000_000)]


class HazardController(Controller):
    path = "/api/v1/hazards"
    tags = ["隐患 hazards"]

    @get("/", guards=[EVERYONE])
    async def list_hazards(
        self,
        actor: CurrentActor,
        settings: AppSettings,
        status: FromQuery[HazardStatus | None] = None,
        level: FromQuery[HazardLevel | None] = None,
        enterprise_id: FromQuery[uuid.UUID | None] = None,
        overdue: FromQuery[bool | None] = None,
        listed_supervision: FromQuery[bool | None] = None,
        limit: Limit = 200,
        offset: Offset = 0,
        inspection_id: FromQuery[uuid.UUID | None] = None,
    ) -> list[wire.Hazard]:
        """隐患列表（按状态、等级、企业、检查、是否逾期、是否挂牌督办筛选）。"""
        return await lifecycle.list_hazards(
            actor,
            settings,
            status=status,
            level=level,
            enterprise_id=enterprise_id,
            overdue=overdue,
            listed_supervision=listed_supervision,
            limit=limit,
            offset=offset,
            inspection_id=inspection_id,
        )

    @get("/board", guards=[requires_role(Role.SUPERVISOR, Role.LEADER, Role.ADMIN)])
    async def hazard_board(
        self,
        actor: CurrentActor,
        settings: AppSettings,
        level: FromQuery[HazardLevel | None] = None,
        listed_supervision: FromQuery[bool | None] = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> list[wire.Hazard]:
        """隐患看板：未销号的隐患，逾期的排在最前（逾期最久的在上），其余按整改期限。"""
        page, _ = await lifecycle.board(
            actor, settings, level=level, listed_supervision=listed_supervision, limit=limit, offset=offset
        )
        return page

    @get("/{hazard_id:uuid}", guards=[EVERYONE])
    async def get_hazard(self, hazard_id: FromPath[uuid.UUID], actor: CurrentActor, settings: AppSettings) -> wire.Hazard:
        """一条隐患的详情（含五落实、升级记录）。"""
        return await lifecycle.get_hazard(actor, hazard_id, settings)

    @get("/{hazard_id:uuid}/history", guards=[EVERYONE])
    async def get_history(self, hazard_id: FromPath[uuid.UUID], actor: CurrentActor) -> list[AuditRecord]:
        """一条隐患及其复查任务的审计记录（时间顺序，含升级、复查、销号）。"""
        return await lifecycle.history(actor, hazard_id)

    @post("/", status_code=HTTP_201_CREATED, guards=[RECORDERS])
    async def create_hazard(
        self, data: JSONBody[wire.HazardCreate], actor: CurrentActor, settings: AppSettings
    ) -> wire.Hazard:
        """登记隐患；重大隐患须对应判定标准检查项并落实五落实，登记即挂牌督办。"""
        async with database.transaction():
            return await lifecycle.create_hazard(actor, data, settings)

    @post("/{hazard_id:uuid}/rectification-start", status_code=HTTP_200_OK, guards=[RECORDERS])
    async def start_rectification(
        self, hazard_id: FromPath[uuid.UUID], actor: CurrentActor, settings: AppSettings
    ) -> wire.Hazard:
        """企业开始整改。"""
        async with database.transaction():
            return await lifecycle.start_rectification(actor, hazard_id, settings)

    @post("/{hazard_id:uuid}/rectification-report", status_code=HTTP_200_OK, guards=[RECORDERS])
    async def report_rectification(
        self,
        hazard_id: FromPath[uuid.UUID],
        data: JSONBody[wire.RectificationReport],
        actor: CurrentActor,
        settings: AppSettings,
    ) -> wire.Hazard:
        """企业报告整改完成；系统随即生成回头看复查任务。"""
        async with database.transaction():
            return await lifecycle.report_rectification(actor, hazard_id, data, settings)

    @post("/{hazard_id:uuid}/recheck", status_code=HTTP_201_CREATED, guards=[requires_role(Role.SUPERVISOR)])
    async def order_recheck(
        self, hazard_id: FromPath[uuid.UUID], actor: CurrentActor, settings: AppSettings
    ) -> wire.Recheck:
        """安排复查：生成一项复查任务（避开发现人，回避），复查合格后方可销号。"""
        async with database.transaction():
            return await hazard_rechecks.order_recheck(actor, hazard_id, settings)

    @post("/{hazard_id:uuid}/close", status_code=HTTP_200_OK, guards=[requires_role(Role.SUPERVISOR)])
    async def close_hazard(self, hazard_id: FromPath[uuid.UUID], actor: CurrentActor, settings: AppSettings) -> wire.Hazard:
        """销号（重大隐患摘牌）：仅限复查合格之后。"""
        async with database.transaction():
            return await lifecycle.close_hazard(actor, hazard_id, settings)

    @post("/escalate", status_code=HTTP_200_OK, guards=[requires_role(Role.SUPERVISOR, Role.ADMIN)])
    async def escalate_overdue(self, settings: AppSettings) -> wire.EscalationRun:
        """对逾期隐患执行升级阶梯（每级只执行一次），并为到期隐患生成复查任务。"""
        async with database.transaction():
            return await escalation.escalate_overdue(settings)


class RecheckController(Controller):
    path = "/api/v1/rechecks"
    tags = ["回头看 rechecks"]

    @get("/", guards=[EVERYONE])
    async def list_rechecks(
        self,
        actor: CurrentActor,
        context: AppContext,
        status: FromQuery[RecheckStatus | None] = None,
        hazard_id: FromQuery[uuid.UUID | None] = None,
        limit: Limit = 200,
    ) -> list[wire.Recheck]:
        """复查任务：检查人员看到指派给本人的，负责人看到本科室的。"""
        return await hazard_rechecks.list_rechecks(
            actor, today=context.today(), status=status, hazard_id=hazard_id, limit=limit
        )

    @post("/{recheck_id:uuid}/result", status_code=HTTP_200_OK, guards=[requires_role(Role.INSPECTOR)])
    async def record_result(
        self,
        recheck_id: FromPath[uuid.UUID],
        data: JSONBody[wire.RecheckResult],
        actor: CurrentActor,
        settings: AppSettings,
    ) -> wire.Recheck:
        """填报复查结果：合格则销号（重大隐患待负责人摘牌），不合格则重新限期并升级。"""
        async with database.transaction():
            return await recheck_results.record_recheck(actor, recheck_id, data, settings)


class LookbackController(Controller):
    path = "/api/v1/lookback-campaigns"
    tags = ["回头看 rechecks"]

    @post("/", status_code=HTTP_201_CREATED, guards=[requires_role(Role.SUPERVISOR)])
    async def open_lookback(
        self, data: JSONBody[wire.LookbackCampaignCreate], actor: CurrentActor, settings: AppSettings
    ) -> wire.LookbackCampaign:
        """组织回头看专项：对期间内已销号的隐患逐一生成复查任务。"""
        async with database.transaction():
            return await hazard_lookback.open_lookback(actor, data, settings)

    @get("/{campaign_id:uuid}", guards=[requires_role(Role.SUPERVISOR, Role.LEADER, Role.ADMIN)])
    async def get_lookback(self, campaign_id: FromPath[uuid.UUID], actor: CurrentActor) -> wire.LookbackCampaign:
        """回头看专项及其复查任务。"""
        return await hazard_lookback.get_lookback(actor, campaign_id)
