"""HTTP for the enterprise registry and declared conflicts of interest (回避)."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, Request, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_202_ACCEPTED

from schemas import registry as wire
from schemas.vocab import District, OperatingStatus, RiskGrade, Role, Sector, StandardizationLevel
from server import database
from server.accounts.auth import requires_role
from server.api_docs import Bodies
from server.deps import AppSettings, CurrentActor
from server.registry import imports
from server.registry import service as registry_service

_ALL_ROLES = (Role.ADMIN, Role.SUPERVISOR, Role.LEADER, Role.LEGAL_REVIEWER, Role.INSPECTOR)
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


#: Raw file bodies are bounded by REGISTRY_IMPORT_MAX_BYTES as they stream in (imports.save_upload).
FileName = Annotated[str, QueryParameter(max_length=256)]
_IMPORT_READERS = (Role.ADMIN, Role.SUPERVISOR, Role.LEADER)
#: What the body may be declared as; the bytes themselves decide (XLSX or UTF-8/GBK CSV).
_FILE_TYPES = ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "text/csv", "application/octet-stream")


class EnterpriseImportController(Controller):
    path = "/api/v1/enterprise-imports"
    tags = ["企业名录 registry"]

    @post("/", guards=[requires_role(*_WRITERS)], status_code=HTTP_202_ACCEPTED, request_max_body_size=None,
          opt={"errors": (413, 415, 422), "doc": Bodies(request=dict.fromkeys(_FILE_TYPES))})
    async def start_import(
        self, request: Request, actor: CurrentActor, settings: AppSettings, file_name: FileName = ""
    ) -> wire.EnterpriseImport:
        """上传企业名录文件（请求体为 .xlsx 或 CSV 原始字节，按内容判断格式）；逐行检查在后台进行，查询状态直至 checked，再确认或放弃。"""
        return await imports.begin(
            actor, request.stream(), file_name, settings, declared_length=request.headers.get("content-length")
        )

    @get("/", guards=[requires_role(*_IMPORT_READERS)])
    async def list_imports(self, actor: CurrentActor) -> list[wire.EnterpriseImport]:
        """最近的企业名录导入。"""
        return await imports.list_imports(actor)

    @get("/{import_id:uuid}", guards=[requires_role(*_IMPORT_READERS)])
    async def get_import(self, import_id: FromPath[uuid.UUID], actor: CurrentActor) -> wire.EnterpriseImport:
        """导入进度与结果：已检查行数、有效/有误行数、写入行数。"""
        return await imports.get(actor, import_id)

    @get("/{import_id:uuid}/rows", guards=[requires_role(*_IMPORT_READERS)])
    async def list_import_rows(
        self,
        import_id: FromPath[uuid.UUID],
        actor: CurrentActor,
        ok: FromQuery[bool | None] = None,
        offset: Annotated[int, QueryParameter(ge=0, le=1_000_000)] = 0,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
    ) -> wire.EnterpriseImportRowPage:
        """文件各行的检查结果（ok=false 只列有误的行及原因）。"""
        return await imports.list_rows(actor, import_id, ok=ok, offset=offset, limit=limit)

    @post("/{import_id:uuid}/confirm", guards=[requires_role(*_WRITERS)], status_code=HTTP_202_ACCEPTED)
    async def confirm_import(self, import_id: FromPath[uuid.UUID], actor: CurrentActor) -> wire.EnterpriseImport:
        """确认导入有效记录：在一个事务中全部写入，失败则一条也不写入。"""
        return await imports.decide(actor, import_id)

    @post("/{import_id:uuid}/discard", guards=[requires_role(*_WRITERS)], status_code=HTTP_200_OK)
    async def discard_import(self, import_id: FromPath[uuid.UUID], actor: CurrentActor) -> wire.EnterpriseImport:
        """放弃该导入（不写入任何企业）。"""
        async with database.transaction():
            return await imports.discard(actor, import_id)
