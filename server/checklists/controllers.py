"""HTTP for checklist templates: everyone signed in reads, admins publish versions."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, get, post
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.status_codes import HTTP_201_CREATED

from schemas import checklists as wire
from schemas.vocab import Role, Sector
from server import database
from server.accounts.auth import requires_role
from server.checklists import service as checklists_service
from server.deps import CurrentActor

_ALL_ROLES = (Role.ADMIN, Role.SUPERVISOR, Role.LEADER, Role.INSPECTOR)
CodeParam = Annotated[str | None, QueryParameter(max_length=64)]


class ChecklistController(Controller):
    path = "/api/v1/checklists"
    tags = ["检查表 checklists"]

    @get("/", guards=[requires_role(*_ALL_ROLES)])
    async def list_templates(
        self,
        actor: CurrentActor,
        sector: FromQuery[Sector | None] = None,
        code: CodeParam = None,
        all_versions: FromQuery[bool] = False,
    ) -> list[wire.ChecklistTemplateSummary]:
        """检查表列表（默认只列现行版本；all_versions=true 列出全部历史版本）。"""
        return await checklists_service.list_templates(actor, sector=sector, code=code, all_versions=all_versions)

    @get("/{template_id:uuid}", guards=[requires_role(*_ALL_ROLES)])
    async def get_template(self, template_id: FromPath[uuid.UUID], actor: CurrentActor) -> wire.ChecklistTemplate:
        """按 id 读取某一版本的检查表（旧版本同样可读）。"""
        return await checklists_service.get(actor, template_id)

    @get("/by-code/{code:str}", guards=[requires_role(*_ALL_ROLES)])
    async def get_current(self, code: FromPath[str], actor: CurrentActor) -> wire.ChecklistTemplate:
        """按编码读取现行版本。"""
        return await checklists_service.get_current(actor, code)

    @post("/", guards=[requires_role(Role.ADMIN)], status_code=HTTP_201_CREATED)
    async def create_template(self, data: JSONBody[wire.ChecklistTemplateCreate], actor: CurrentActor) -> wire.ChecklistTemplate:
        """新建检查表（第 1 版，仅管理员）。"""
        async with database.transaction():
            return await checklists_service.create(actor, data)

    @post("/by-code/{code:str}/versions", guards=[requires_role(Role.ADMIN)], status_code=HTTP_201_CREATED)
    async def revise_template(
        self, code: FromPath[str], data: JSONBody[wire.ChecklistTemplateRevise], actor: CurrentActor
    ) -> wire.ChecklistTemplate:
        """发布新版本（仅管理员）：新版本成为现行版本，旧版本保留可读。"""
        async with database.transaction():
            return await checklists_service.revise(actor, code, data)
