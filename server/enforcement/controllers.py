"""HTTP for enforcement actions: propose, decide, 法制审核, 移送."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, get, post
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from schemas import enforcement as wire
from schemas.audit import AuditRecord
from schemas.enforcement import ActionStatus
from schemas.vocab import EnforcementKind, Role
from server import database
from server.accounts.auth import requires_role
from server.accounts.policy import Actor
from server.deps import AppSettings, CurrentActor
from server.enforcement import service as enforcement_service
from server.errors import PermissionDenied

EVERYONE = requires_role(Role.INSPECTOR, Role.SUPERVISOR, Role.LEADER, Role.ADMIN, Role.LEGAL_REVIEWER)
Limit = Annotated[int, QueryParameter(ge=1, le=500)]


def supervisors_decide(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """Only supervisors decide; the refusal names what the caller tried to set."""
    actor = connection.user
    if not isinstance(actor, Actor) or actor.role != Role.SUPERVISOR:
        raise PermissionDenied(
            "检查人员只能提出执法措施，决定须由科室负责人作出", "only supervisors decide enforcement actions", field="approve"
        )


class EnforcementController(Controller):
    path = "/api/v1/enforcement-actions"
    tags = ["执法措施 enforcement"]

    @get("/", guards=[EVERYONE])
    async def list_actions(
        self,
        actor: CurrentActor,
        status: FromQuery[ActionStatus | None] = None,
        kind: FromQuery[EnforcementKind | None] = None,
        enterprise_id: FromQuery[uuid.UUID | None] = None,
        hazard_id: FromQuery[uuid.UUID | None] = None,
        limit: Limit = 200,
    ) -> list[wire.EnforcementAction]:
        """执法措施列表（含行刑衔接时限是否超期）。"""
        return await enforcement_service.list_actions(
            actor, status=status, kind=kind, enterprise_id=enterprise_id, hazard_id=hazard_id, limit=limit
        )

    @get("/section-113/{enterprise_id:uuid}", guards=[requires_role(Role.SUPERVISOR, Role.LEADER, Role.ADMIN)])
    async def section_113(
        self, enterprise_id: FromPath[uuid.UUID], actor: CurrentActor, settings: AppSettings
    ) -> wire.Section113Counter:
        """安全生产法第一百一十三条计数：180日内、一年内受到行政处罚的次数及期间是否存在重大事故隐患。"""
        return await enforcement_service.section_113_counter(actor, enterprise_id, settings)

    @get("/{action_id:uuid}", guards=[EVERYONE])
    async def get_action(self, action_id: FromPath[uuid.UUID], actor: CurrentActor) -> wire.EnforcementAction:
        """一项执法措施。"""
        return await enforcement_service.get_action(actor, action_id)

    @get("/{action_id:uuid}/history", guards=[EVERYONE])
    async def get_history(self, action_id: FromPath[uuid.UUID], actor: CurrentActor) -> list[AuditRecord]:
        """一项执法措施的审计记录（提出、决定、法制审核、移送，时间顺序）。"""
        return await enforcement_service.history(actor, action_id)

    @post("/", status_code=HTTP_201_CREATED, guards=[requires_role(Role.INSPECTOR, Role.SUPERVISOR)])
    async def propose(
        self, data: JSONBody[wire.EnforcementProposal], actor: CurrentActor, settings: AppSettings
    ) -> wire.EnforcementAction:
        """提出执法措施（关联一次检查或一条隐患）；罚款须填金额。"""
        async with database.transaction():
            return await enforcement_service.propose(actor, data, settings)

    @post("/{action_id:uuid}/decision", status_code=HTTP_200_OK, guards=[supervisors_decide])
    async def decide(
        self,
        action_id: FromPath[uuid.UUID],
        data: JSONBody[wire.EnforcementDecision],
        actor: CurrentActor,
        settings: AppSettings,
    ) -> wire.EnforcementAction:
        """负责人决定；超过阈值的决定经法制审核后生效。"""
        async with database.transaction():
            return await enforcement_service.decide(actor, action_id, data, settings)

    @post("/{action_id:uuid}/legal-review", status_code=HTTP_200_OK, guards=[requires_role(Role.LEGAL_REVIEWER)])
    async def review(
        self,
        action_id: FromPath[uuid.UUID],
        data: JSONBody[wire.LegalReview],
        actor: CurrentActor,
        settings: AppSettings,
    ) -> wire.EnforcementAction:
        """法制审核（法制审核人员进行，且不得是该措施的提出人或决定人）。"""
        async with database.transaction():
            return await enforcement_service.review(actor, action_id, data, settings)

    @post("/{action_id:uuid}/refusal", status_code=HTTP_200_OK, guards=[supervisors_decide])
    async def record_refusal(
        self,
        action_id: FromPath[uuid.UUID],
        data: JSONBody[wire.RefusalRecord],
        actor: CurrentActor,
        settings: AppSettings,
    ) -> wire.EnforcementAction:
        """登记企业拒不执行停产停业整顿决定；系统据安全生产法第一百一十三条提请关闭（返回该提请）。"""
        async with database.transaction():
            return await enforcement_service.record_refusal(actor, action_id, data, settings)

    @post("/{action_id:uuid}/transfer", status_code=HTTP_200_OK, guards=[supervisors_decide])
    async def record_transfer(
        self, action_id: FromPath[uuid.UUID], data: JSONBody[wire.TransferRecord], actor: CurrentActor
    ) -> wire.EnforcementAction:
        """登记移送公安机关（行刑衔接：决定后24小时内）。"""
        async with database.transaction():
            return await enforcement_service.record_transfer(actor, action_id, data)
