"""A small world for the closed-loop tests: a department, its people, an enterprise, a checklist."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from schemas.vocab import District, Role, Sector
from server.checklists.tables import ChecklistItem, ChecklistTemplate
from tests.conftest import login, make_department, make_enterprise, make_user, username_of
from tests.server.sync.conftest import Phone, make_phone

__all__ = ["World", "make_world", "world", "Phone", "make_phone", "five_in_place"]


def five_in_place(deadline: dt.date) -> dict[str, Any]:
    return {
        "responsible_person": "王建国（安全副总）",
        "measures": "停用液氨制冷间，更换泄漏阀门并加装气体检测报警",
        "funds_yuan": 180000,
        "deadline_date": deadline.isoformat(),
        "contingency_plan": "液氨泄漏现场处置方案（2023版）",
    }


@dataclass
class World:
    client: httpx.AsyncClient
    department_id: uuid.UUID
    supervisor_id: uuid.UUID
    second_supervisor_id: uuid.UUID
    leader_id: uuid.UUID
    legal_reviewer_id: uuid.UUID
    inspectors: list[uuid.UUID]
    enterprise_id: uuid.UUID
    other_enterprise_id: uuid.UUID
    template_id: uuid.UUID
    general_item: uuid.UUID
    major_item: uuid.UUID
    _headers: dict[uuid.UUID, dict[str, str]] = field(default_factory=dict)

    async def headers(self, user_id: uuid.UUID) -> dict[str, str]:
        if user_id not in self._headers:
            self._headers[user_id] = await login(self.client, await username_of(user_id))
        return self._headers[user_id]

    async def inspection(self, team: list[uuid.UUID] | None = None, enterprise_id: uuid.UUID | None = None) -> uuid.UUID:
        body = {
            "enterprise_id": str(enterprise_id or self.enterprise_id),
            "template_id": str(self.template_id),
            "inspector_ids": [str(i) for i in (team or self.inspectors[:2])],
        }
        response = await self.client.post("/api/v1/inspections/", json=body, headers=await self.headers(self.supervisor_id))
        assert response.status_code == 201, response.text
        return uuid.UUID(response.json()["id"])


async def make_world(client: httpx.AsyncClient, n_inspectors: int = 4) -> World:
    department = await make_department()
    shapotou = [District.SHAPOTOU]
    now = dt.datetime.now(dt.UTC)
    template_id = uuid.uuid4()
    await ChecklistTemplate.insert(
        ChecklistTemplate(
            id=template_id, code=f"gm-{template_id.hex[:6]}", version=1, sector=Sector.INDUSTRY_TRADE,
            title="工贸企业重大事故隐患判定检查表", basis="应急管理部令第10号", created_at=now,
        )
    )
    general_item, major_item = uuid.uuid4(), uuid.uuid4()
    await ChecklistItem.insert(
        ChecklistItem(id=general_item, template=template_id, position=0, code="1", text="安全警示标志设置齐全"),
        ChecklistItem(
            id=major_item, template=template_id, position=1, code="2",
            text="液氨制冷包装间、分割间等人员较多的场所未采取物理隔离", is_major_criterion=True,
        ),
    )
    return World(
        client=client,
        department_id=department,
        supervisor_id=await make_user(Role.SUPERVISOR, department_id=department, districts=shapotou),
        second_supervisor_id=await make_user(Role.SUPERVISOR, department_id=department, districts=shapotou),
        leader_id=await make_user(Role.LEADER),
        legal_reviewer_id=await make_user(Role.LEGAL_REVIEWER),
        inspectors=[await make_user(Role.INSPECTOR, department_id=department, districts=shapotou) for _ in range(n_inspectors)],
        enterprise_id=await make_enterprise(),
        other_enterprise_id=await make_enterprise(),
        template_id=template_id,
        general_item=general_item,
        major_item=major_item,
    )


@pytest.fixture
async def world(client: httpx.AsyncClient) -> World:
    """A fresh world for one test (the ``client`` fixture has emptied every table)."""
    return await make_world(client)
