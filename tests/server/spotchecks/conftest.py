"""Fixtures for spot-check API tests: a department with a supervisor, officers, enterprises and a template."""

from __future__ import annotations

import datetime as dt
import struct
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import msgspec
import pytest

from schemas.vocab import District, Role, Sector
from server.checklists.tables import ChecklistItem, ChecklistTemplate
from server.registry.tables import Enterprise
from tests.conftest import login, make_department, make_enterprise, make_user, username_of
from tests.server.sync.conftest import Phone, make_phone
from tests.dates import bureau_today

BASE = "/api/v1/spot-checks"


@dataclass
class World:
    client: httpx.AsyncClient
    department_id: uuid.UUID
    supervisor_id: uuid.UUID
    supervisor: dict[str, str]
    inspectors: list[uuid.UUID]
    enterprises: list[uuid.UUID]
    template_id: uuid.UUID
    headers: dict[uuid.UUID, dict[str, str]] = field(default_factory=dict)

    async def campaign(self, **overrides: Any) -> dict[str, Any]:
        today = bureau_today()
        body: dict[str, Any] = {
            "name": "国庆节前危化企业暗访抽查",
            "label": "重点时段：国庆",
            "period_start": (today + dt.timedelta(days=1)).isoformat(),
            "period_end": (today + dt.timedelta(days=20)).isoformat(),
            "covert": True,
            "enforcement": True,
            "rules": {"sample_size": 3, "team_size": 2, "weekdays": [1, 2, 3, 4, 5, 6, 7]},
        }
        rules = overrides.pop("rules", {})
        body.update(overrides)
        body["rules"] = {**body["rules"], **rules}
        response = await self.client.post(f"{BASE}/campaigns", json=body, headers=self.supervisor)
        assert response.status_code == 201, response.text
        return response.json()

    async def draw(self, campaign_id: str, reason: str = "") -> dict[str, Any]:
        response = await self.client.post(
            f"{BASE}/campaigns/{campaign_id}/draws", json={"reason": reason}, headers=self.supervisor
        )
        assert response.status_code == 201, response.text
        return response.json()

    async def tasks(self, campaign_id: str) -> list[dict[str, Any]]:
        response = await self.client.get(f"{BASE}/campaigns/{campaign_id}/tasks", headers=self.supervisor)
        assert response.status_code == 200, response.text
        return response.json()

    async def as_user(self, user_id: uuid.UUID) -> dict[str, str]:
        if user_id not in self.headers:
            self.headers[user_id] = await login(self.client, await username_of(user_id))
        return self.headers[user_id]

    async def phone(self, user_id: uuid.UUID) -> Phone:
        return await make_phone(self.client, user_id)

    async def items(self) -> list[uuid.UUID]:
        """The checklist's item ids, in order (a check answers all of them before it is submitted)."""
        rows = await ChecklistItem.select(ChecklistItem.id).where(ChecklistItem.template == self.template_id).order_by(
            ChecklistItem.position
        )
        return [r["id"] for r in rows]


async def target_traces(enterprise_id: uuid.UUID) -> list[bytes]:
    """Every way an enterprise could show up in a response: id (both spellings), name, code, address, place."""
    row = await Enterprise.select().where(Enterprise.id == enterprise_id).first()
    traces = [str(enterprise_id).encode(), enterprise_id.hex.encode(), enterprise_id.bytes]
    for key in ("name", "credit_code", "address"):
        if row[key]:
            traces.append(row[key].encode())
    for key in ("longitude", "latitude"):
        if row[key] is not None:
            # As a whole JSON number (105.1 must not match inside 105.12) and as a MessagePack float64.
            number = msgspec.json.encode(row[key])
            traces += [b":" + number + b",", b":" + number + b"}", b":" + number + b"]", struct.pack(">d", row[key])]
    return traces


@pytest.fixture
async def world(client: httpx.AsyncClient) -> World:
    return await make_world(client)


async def make_world(client: httpx.AsyncClient) -> World:
    """One department: a supervisor, four certified officers, six 危化 enterprises and their checklist."""
    department = await make_department()
    supervisor_id = await make_user(Role.SUPERVISOR, department_id=department)
    inspectors = [await make_user(Role.INSPECTOR, department_id=department, districts=[District.SHAPOTOU]) for _ in range(4)]
    enterprises = [
        await make_enterprise(
            sector=Sector.HAZARDOUS_CHEMICALS,
            name=f"中卫市暗访目标化工{n}有限公司",
            address=f"中卫市沙坡头区工业园{n}号",
            longitude=105.1 + n / 100,
            latitude=37.5 + n / 100,
        )
        for n in range(6)
    ]
    now = dt.datetime.now(dt.UTC)
    template_id = uuid.uuid4()
    await ChecklistTemplate.insert(
        ChecklistTemplate(id=template_id, code="hc-basic", version=1, sector=Sector.HAZARDOUS_CHEMICALS,
                          title="危险化学品企业安全检查表", created_at=now, is_current=True)
    )
    await ChecklistItem.insert(
        ChecklistItem(id=uuid.uuid4(), template=template_id, position=0, code="1", text="安全管理机构设置")
    )
    supervisor = await login(client, await username_of(supervisor_id))
    return World(client, department, supervisor_id, supervisor, inspectors, enterprises, template_id)
