"""HTTP for inspections: assign, read, and the supervisor's conflict queue."""

from __future__ import annotations

import uuid

from litestar import Controller, get, post
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from schemas import inspections as wire
from schemas.vocab import Role
from server import database
from server.accounts.auth import requires_role
from server.deps import CurrentActor
from server.inspections import service as inspections_service


class InspectionController(Controller):
    path = "/api/v1/inspections"
    tags = ["检查 inspections"]

    @post("/", status_code=HTTP_201_CREATED, guards=[requires_role(Role.SUPERVISOR, Role.ADMIN)])
    async def create_inspection(self, data: JSONBody[wire.InspectionCreate], actor: CurrentActor) -> wire.Inspection:
        """分派检查任务：指定企业、检查表和检查组（第一位为组长）。"""
        async with database.transaction():
            return await inspections_service.create(actor, data)

    @get("/")
    async def list_inspections(self, actor: CurrentActor) -> list[wire.Inspection]:
        """本人的检查任务（检查人员），或本科室的检查（负责人）。"""
        return await inspections_service.list_for(actor)

    @get("/{inspection_id:uuid}")
    async def get_inspection(self, inspection_id: FromPath[uuid.UUID], actor: CurrentActor) -> wire.Inspection:
        """一次检查的详情。"""
        return await inspections_service.get(actor, inspection_id)

    @post(
        "/{inspection_id:uuid}/submit", status_code=HTTP_200_OK,
        guards=[requires_role(Role.INSPECTOR, Role.SUPERVISOR, Role.ADMIN)],
    )
    async def submit_inspection(
        self, inspection_id: FromPath[uuid.UUID], data: JSONBody[wire.InspectionSubmit], actor: CurrentActor
    ) -> wire.Inspection:
        """签字提交检查（与手机同步提交同一规则）：全部检查项须已填写结果，照片须已上传；提交后锁定。"""
        async with database.transaction():
            return await inspections_service.submit(actor, inspection_id, data)

    @post("/{inspection_id:uuid}/review", status_code=HTTP_200_OK, guards=[requires_role(Role.SUPERVISOR)])
    async def review_inspection(
        self, inspection_id: FromPath[uuid.UUID], data: JSONBody[wire.InspectionReview], actor: CurrentActor
    ) -> wire.Inspection:
        """审核已提交的检查（本科室负责人）：approve 通过（此后方可公开）；return 退回检查组修改（须写明理由）。"""
        async with database.transaction():
            return await inspections_service.review(actor, inspection_id, data)


class ConflictController(Controller):
    path = "/api/v1/item-result-conflicts"
    tags = ["检查 inspections"]

    @get("/", guards=[requires_role(Role.SUPERVISOR, Role.ADMIN, Role.LEADER)])
    async def list_conflicts(self, actor: CurrentActor) -> list[wire.ItemResultConflict]:
        """待裁定的检查项冲突（两名检查人员对同一字段记录了不同的值）。"""
        return await inspections_service.list_conflicts(actor)

    @post(
        "/{conflict_id:uuid}/resolve", status_code=HTTP_200_OK, guards=[requires_role(Role.SUPERVISOR, Role.ADMIN)]
    )
    async def resolve_conflict(
        self, conflict_id: FromPath[uuid.UUID], data: JSONBody[wire.ConflictResolution], actor: CurrentActor
    ) -> wire.ItemResultConflict:
        """裁定冲突：保留服务器值、采用手机上的值，或填写其他值；双方原值均留档。"""
        async with database.transaction():
            return await inspections_service.resolve_conflict(actor, conflict_id, data)
