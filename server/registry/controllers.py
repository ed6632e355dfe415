"""HTTP for the enterprise registry and declared conflicts of interest (回避)."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from schemas import registry as wire
from schemas.vocab import District, OperatingStatus, RiskGrade, Role, Sector, StandardizationLevel
from server import database
from server.accounts.auth import requires_role
from server.deps import CurrentActor
from server.registry import service as registry_service

_ALL_ROLES = (Role.ADMIN, Role.SUPERVISOR, Role.LEADER, Role.INSPECTOR)
_WRITERS = (Role.ADMIN, Role.SUPERVISOR)

SearchText = Annotated[str | None, QueryParameter(max_length=128)]
Cursor = Annotated[str | None, QueryParameter(max_length=512)]
#: Larger requests are served MAX_PAGE rows; absurd ones are refused.
Limit = Annotated[int, QueryParameter(ge=1, le=10_000)]


class EnterpriseController(Controller):
    path = "/api/v1/enterprises"
    tags = ["企业名录 registry"]

    @get("/", guards=[requires_role(*_ALL_ROLES)])
    async def list_enterprises(
        self,
        actor: CurrentActor,
        q: SearchText = None,
        sector: FromQuery[Sector | None] = None,
        district: FromQuery[District | None] = None,
        risk_grade: FromQuery[RiskGrade | None] = None,
        standardization_level: FromQuery[StandardizationLevel | None] = None,
        major_hazard_source: FromQuery[bool | None] = None,
        operating_status: FromQuery[OperatingStatus | None] = None,
        cursor: Cursor = None,
        limit: Limit = registry_service.DEFAULT_PAGE,
    ) -> wire.EnterprisePage:
        """企业名录：按名称或统一社会信用代码搜索，按行业、区县、风险等级、标准化等级、重大危险源、经营状态筛选；游标分页（每页最多 200 条）。检查人员只能看到自己任务中的企业。"""
        filters = registry_service.EnterpriseFilter(
            q=q,
            sector=sector,
            district=district,
            risk_grade=risk_grade,
            standardization_level=standardization_level,
            major_hazard_source=major_hazard_source,
            operating_status=operating_status,
        )
        return await registry_service.list_enterprises(actor, filters, cursor=cursor, limit=limit)

    @get("/{enterprise_id:uuid}", guards=[requires_role(*_ALL_ROLES)])
    async def get_enterprise(self, enterprise_id: FromPath[uuid.UUID], actor: CurrentActor) -> wire.Enterprise:
        """企业详情。"""
        return await registry_service.get(actor, enterprise_id)

    @post("/", guards=[requires_role(*_WRITERS)], status_code=HTTP_201_CREATED)
    async def create_enterprise(self, data: JSONBody[wire.EnterpriseCreate], actor: CurrentActor) -> wire.Enterprise:
        """登记企业（管理员、科室负责人）；统一社会信用代码须通过 GB 32100 校验且未登记。"""
        async with database.transaction():
            return await registry_service.create(actor, data)

    @patch("/{enterprise_id:uuid}", guards=[requires_role(*_WRITERS)])
    async def update_enterprise(
        self, enterprise_id: FromPath[uuid.UUID], data: JSONBody[wire.EnterpriseUpdate], actor: CurrentActor
    ) -> wire.Enterprise:
        """修改企业信息（管理员、科室负责人）；可带 expected_version 防止覆盖他人修改。"""
        async with database.transaction():
            return await registry_service.update(actor, enterprise_id, data)


class ConflictOfInterestController(Controller):
    path = "/api/v1/conflicts-of-interest"
    tags = ["回避 conflicts of interest"]

    @get("/", guards=[requires_role(*_ALL_ROLES)])
    async def list_conflicts(
        self,
        actor: CurrentActor,
        user_id: FromQuery[uuid.UUID | None] = None,
        enterprise_id: FromQuery[uuid.UUID | None] = None,
        include_revoked: FromQuery[bool] = False,
    ) -> list[wire.ConflictOfInterest]:
        """回避申报列表（检查人员只能看到本人的）。"""
        return await registry_service.list_conflicts(
            actor, user_id=user_id, enterprise_id=enterprise_id, include_revoked=include_revoked
        )

    @post("/", guards=[requires_role(Role.ADMIN, Role.SUPERVISOR, Role.INSPECTOR)], status_code=HTTP_201_CREATED)
    async def declare_conflict(
        self, data: JSONBody[wire.ConflictOfInterestCreate], actor: CurrentActor
    ) -> wire.ConflictOfInterest:
        """申报回避：本人可申报自己的，科室负责人可为本科室人员申报，管理员可为任何人申报。"""
        async with database.transaction():
            return await registry_service.declare_conflict(actor, data)

    @post("/{conflict_id:uuid}/revoke", guards=[requires_role(*_WRITERS)], status_code=HTTP_200_OK)
    async def revoke_conflict(self, conflict_id: FromPath[uuid.UUID], actor: CurrentActor) -> wire.ConflictOfInterest:
        """撤销回避（管理员、科室负责人）。"""
        async with database.transaction():
            return await registry_service.revoke_conflict(actor, conflict_id)
