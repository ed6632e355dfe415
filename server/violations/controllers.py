"""HTTP for the 三违 register."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from litestar import Controller, get, post
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from schemas import bounds
from schemas import violations as wire
from schemas.problems import ErrorCode
from schemas.vocab import Role, ViolationType
from server import database
from server.accounts.auth import requires_role
from server.deps import AppSettings, CurrentActor
from server.errors import InvalidInput
from server.violations import service as violations_service

EVERYONE = requires_role(Role.INSPECTOR, Role.SUPERVISOR, Role.LEADER, Role.ADMIN)
Limit = Annotated[int, QueryParameter(ge=1, le=500)]


class ViolationController(Controller):
    path = "/api/v1/violations"
    tags = ["三违 violations"]

    @get("/", guards=[EVERYONE])
    async def list_violations(
        self,
        actor: CurrentActor,
        enterprise_id: FromQuery[uuid.UUID | None] = None,
        person_key: Annotated[str | None, QueryParameter(min_length=64, max_length=64)] = None,
        violation_type: FromQuery[ViolationType | None] = None,
        limit: Limit = 200,
        offset: Annotated[int, QueryParameter(ge=0, le=1_000_000)] = 0,
        inspection_id: FromQuery[uuid.UUID | None] = None,
    ) -> list[wire.Violation]:
        """三违记录（身份证号脱敏显示），可按企业、检查、人员、类型筛选。"""
        return await violations_service.list_violations(
            actor, enterprise_id=enterprise_id, person_key=person_key, violation_type=violation_type, limit=limit,
            offset=offset, inspection_id=inspection_id,
        )

    @get("/repeat-offenders", guards=[requires_role(Role.SUPERVISOR, Role.LEADER, Role.ADMIN)])
    async def repeat_offenders(
        self,
        actor: CurrentActor,
        min_records: Annotated[int, QueryParameter(ge=2, le=100)] = 2,
        min_enterprises: Annotated[int, QueryParameter(ge=1, le=100)] = 1,
        since: FromQuery[dt.datetime | None] = None,
    ) -> list[wire.RepeatOffender]:
        """重复违章人员（跨企业按身份证号匹配）。"""
        if since is not None and (problem := bounds.date_problem(since)):
            raise InvalidInput(problem, "since is out of range", code=ErrorCode.DATE_OUT_OF_RANGE, field="since")
        return await violations_service.repeat_offenders(
            actor, min_records=min_records, min_enterprises=min_enterprises, since=since
        )

    @post("/person-lookup", status_code=HTTP_200_OK, guards=[requires_role(Role.SUPERVISOR, Role.LEADER, Role.ADMIN)])
    async def person_history(
        self, data: JSONBody[wire.PersonLookup], actor: CurrentActor, settings: AppSettings
    ) -> list[wire.Violation]:
        """按身份证号查询某人在各企业的全部三违记录（号码只做匹配，不保存；查询记入审计）。"""
        async with database.transaction():
            return await violations_service.person_history(actor, data, settings)

    @get("/{violation_id:uuid}", guards=[EVERYONE])
    async def get_violation(self, violation_id: FromPath[uuid.UUID], actor: CurrentActor) -> wire.Violation:
        """一条三违记录。"""
        return await violations_service.get_violation(actor, violation_id)

    @post("/", status_code=HTTP_201_CREATED, guards=[requires_role(Role.INSPECTOR, Role.SUPERVISOR)])
    async def record_violation(
        self, data: JSONBody[wire.ViolationCreate], actor: CurrentActor, settings: AppSettings
    ) -> wire.Violation:
        """登记三违（身份证号按 GB 11643 校验）。"""
        async with database.transaction():
            return await violations_service.record_violation(actor, data, settings)

    @post("/{violation_id:uuid}/id-number", status_code=HTTP_200_OK, guards=[requires_role(Role.SUPERVISOR)])
    async def reveal_id_number(
        self, violation_id: FromPath[uuid.UUID], actor: CurrentActor, settings: AppSettings
    ) -> wire.ViolationIdNumber:
        """查看完整身份证号（仅本科室负责人，查看行为记入审计）。"""
        async with database.transaction():
            return await violations_service.reveal_id_number(actor, violation_id, settings)

    @post("/{violation_id:uuid}/disposition", status_code=HTTP_200_OK, guards=[requires_role(Role.SUPERVISOR)])
    async def set_disposition(
        self, violation_id: FromPath[uuid.UUID], data: JSONBody[wire.DispositionUpdate], actor: CurrentActor
    ) -> wire.Violation:
        """登记处理结果。"""
        async with database.transaction():
            return await violations_service.set_disposition(actor, violation_id, data)
