"""HTTP for inspections: assign, read, and the supervisor's conflict queue."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from litestar import Controller, get, post
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from schemas import bounds
from schemas import inspections as wire
from schemas.audit import AuditRecord
from schemas.problems import ErrorCode
from schemas.vocab import District, InspectionStatus, Role, Sector
from server import database
from server.accounts.auth import requires_role
from server.deps import AppContext, CurrentActor
from server.errors import InvalidInput
from server.inspections import assignment
from server.inspections import conflicts
from server.inspections import lifecycle
from server.inspections import records


class InspectionController(Controller):
    path = "/api/v1/inspections"
    tags = ["检查 inspections"]

    @post("/", status_code=HTTP_201_CREATED, guards=[requires_role(Role.SUPERVISOR, Role.ADMIN)])
    async def create_inspection(self, data: JSONBody[wire.InspectionCreate], actor: CurrentActor) -> wire.Inspection:
        """分派检查任务：指定企业、检查表和检查组（第一位为组长）。"""
        async with database.transaction():
            return await assignment.create(actor, data)

    @get("/")
    async def list_inspections(
        self,
        actor: CurrentActor,
        context: AppContext,
        status: FromQuery[InspectionStatus | None] = None,
        district: FromQuery[District | None] = None,
        sector: FromQuery[Sector | None] = None,
        inspector_id: FromQuery[uuid.UUID | None] = None,
        date_from: FromQuery[dt.date | None] = None,
        date_to: FromQuery[dt.date | None] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 200,
        offset: Annotated[int, QueryParameter(ge=0, le=1_000_000)] = 0,
    ) -> list[wire.Inspection]:
        """本人的检查任务（检查人员），或本科室的检查（负责人）；可按状态、区县、行业、检查人员、检查日期筛选。"""
        for name, day in (("date_from", date_from), ("date_to", date_to)):
            if day is not None and (problem := bounds.date_problem(day)):
                raise InvalidInput(problem, f"{name} is out of range", code=ErrorCode.DATE_OUT_OF_RANGE, field=name)
        filters = records.InspectionFilter(
            status=status, district=district, sector=sector, inspector_id=inspector_id, date_from=date_from, date_to=date_to,
            zone=context.settings.hazards.timezone,
        )
        return await records.list_for(actor, filters, limit=limit, offset=offset)

    @get("/{inspection_id:uuid}")
    async def get_inspection(self, inspection_id: FromPath[uuid.UUID], actor: CurrentActor) -> wire.Inspection:
        """一次检查的详情。"""
        return await records.get(actor, inspection_id)

    @get("/{inspection_id:uuid}/item-results")
    async def list_item_results(self, inspection_id: FromPath[uuid.UUID], actor: CurrentActor) -> list[wire.ItemResult]:
        """一次检查的全部检查项结果。"""
        return await records.item_results(actor, inspection_id)

    @get("/{inspection_id:uuid}/history")
    async def get_history(self, inspection_id: FromPath[uuid.UUID], actor: CurrentActor) -> list[AuditRecord]:
        """一次检查及其检查项结果的审计记录（时间顺序）。"""
        return await records.history(actor, inspection_id)

    @post("/{inspection_id:uuid}/team", status_code=HTTP_200_OK, guards=[requires_role(Role.SUPERVISOR, Role.ADMIN)])
    async def assign_team(
        self, inspection_id: FromPath[uuid.UUID], data: JSONBody[wire.InspectionAssign], actor: CurrentActor
    ) -> wire.Inspection:
        """指派（或改派）尚未开始的检查的检查组（第一位为组长）；与企业有回避关系的人员不得参加。"""
        async with database.transaction():
            return await assignment.assign_team(actor, inspection_id, data)

    @post(
        "/{inspection_id:uuid}/submit", status_code=HTTP_200_OK,
        guards=[requires_role(Role.INSPECTOR, Role.SUPERVISOR, Role.ADMIN)],
    )
    async def submit_inspection(
        self, inspection_id: FromPath[uuid.UUID], data: JSONBody[wire.InspectionSubmit], actor: CurrentActor
    ) -> wire.Inspection:
        """签字提交检查（与手机同步提交同一规则）：全部检查项须已填写结果，照片须已上传；提交后锁定。"""
        async with database.transaction():
            return await lifecycle.submit(actor, inspection_id, data)

    @post("/{inspection_id:uuid}/review", status_code=HTTP_200_OK, guards=[requires_role(Role.SUPERVISOR)])
    async def review_inspection(
        self,
        inspection_id: FromPath[uuid.UUID],
        data: JSONBody[wire.InspectionReview],
        actor: CurrentActor,
        context: AppContext,
    ) -> wire.Inspection:
        """审核已提交的检查（本科室负责人）：approve 通过（此后方可公开）；return 退回检查组修改（须写明理由）。"""
        async with database.transaction():
            return await lifecycle.review(context, actor, inspection_id, data)


    @post("/{inspection_id:uuid}/cancel", status_code=HTTP_200_OK, guards=[requires_role(Role.SUPERVISOR)])
    async def cancel_inspection(
        self, inspection_id: FromPath[uuid.UUID], data: JSONBody[wire.InspectionCancel], actor: CurrentActor
    ) -> wire.Inspection:
        """取消尚未签字的检查（本科室负责人，须写明理由）；其抽查任务随之取消，不再计入抽查计划。"""
        async with database.transaction():
            return await lifecycle.cancel(actor, inspection_id, data)


class ConflictController(Controller):
    path = "/api/v1/item-result-conflicts"
    tags = ["检查 inspections"]

    @get("/", guards=[requires_role(Role.SUPERVISOR, Role.ADMIN, Role.LEADER)])
    async def list_conflicts(self, actor: CurrentActor) -> list[wire.ItemResultConflict]:
        """待裁定的检查项冲突（两名检查人员对同一字段记录了不同的值）。"""
        return await conflicts.list_conflicts(actor)

    @post(
        "/{conflict_id:uuid}/resolve", status_code=HTTP_200_OK, guards=[requires_role(Role.SUPERVISOR, Role.ADMIN)]
    )
    async def resolve_conflict(
        self, conflict_id: FromPath[uuid.UUID], data: JSONBody[wire.ConflictResolution], actor: CurrentActor
    ) -> wire.ItemResultConflict:
        """裁定冲突：保留服务器值、采用手机上的值，或填写其他值；双方原值均留档。"""
        async with database.transaction():
            return await conflicts.resolve_conflict(actor, conflict_id, data)
