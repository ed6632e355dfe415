"""A bureau for the office-console tests, built through the API and a phone's sync (no state written by hand).

Department 执法支队 (A): two supervisors, four inspectors on 沙坡头区; department B with its own supervisor;
a legal reviewer, a leader and an admin; six 危化 enterprises and their current checklist (made by the admin
through the API). ``phone_check`` is a check a phone filled offline through ``sync_client`` and synced: every
item answered (one failed), a general hazard with its photo, a 三违, a second photo, the signature, signed.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from schemas.vocab import District, Role, Sector
from sync_client import RetryPolicy, SyncClient
from tests.conftest import PASSWORD, login, make_department, make_enterprise, make_user, username_of
from tests.server.evidence.images import photo
from tests.dates import bureau_today

ID_NUMBER = "11010519491231002X"


@dataclass
class Office:
    client: httpx.AsyncClient
    department_id: uuid.UUID
    other_department_id: uuid.UUID
    supervisor: uuid.UUID
    second_supervisor: uuid.UUID
    other_supervisor: uuid.UUID
    legal: uuid.UUID
    leader: uuid.UUID
    admin: uuid.UUID
    inspectors: list[uuid.UUID]
    enterprises: list[uuid.UUID]
    template_id: uuid.UUID
    items: list[uuid.UUID]
    usernames: dict[uuid.UUID, str] = field(default_factory=dict)
    _headers: dict[uuid.UUID, dict[str, str]] = field(default_factory=dict)

    async def headers(self, user_id: uuid.UUID) -> dict[str, str]:
        if user_id not in self._headers:
            self._headers[user_id] = await login(self.client, self.usernames[user_id])
        return self._headers[user_id]

    async def assign(self, team: list[uuid.UUID], enterprise: uuid.UUID | None = None, **extra: Any) -> uuid.UUID:
        body = {"enterprise_id": str(enterprise or self.enterprises[0]), "template_id": str(self.template_id),
                "inspector_ids": [str(i) for i in team], **extra}
        response = await self.client.post("/api/v1/inspections/", json=body, headers=await self.headers(self.supervisor))
        assert response.status_code == 201, response.text
        return uuid.UUID(response.json()["id"])


async def make_office(client: httpx.AsyncClient) -> Office:
    a = await make_department(name="执法支队")
    b = await make_department(name="危险化学品安全监督管理科")
    districts = [District.SHAPOTOU]
    people: dict[str, uuid.UUID] = {
        "supervisor": await make_user(Role.SUPERVISOR, username="zhang-kz", department_id=a, districts=districts),
        "second_supervisor": await make_user(Role.SUPERVISOR, username="li-fkz", department_id=a, districts=districts),
        "other_supervisor": await make_user(Role.SUPERVISOR, username="wang-kz", department_id=b),
        "legal": await make_user(Role.LEGAL_REVIEWER, username="zhao-fz", department_id=a),
        "leader": await make_user(Role.LEADER, username="chen-jz"),
        "admin": await make_user(Role.ADMIN, username="admin-office"),
    }
    inspectors = [
        await make_user(Role.INSPECTOR, username=f"zfy-{n}", department_id=a, districts=districts) for n in range(1, 5)
    ]
    enterprises = [
        await make_enterprise(sector=Sector.HAZARDOUS_CHEMICALS, name=f"中卫市{name}化工有限公司",
                              address=f"中卫市沙坡头区美利工业园{n}号")
        for n, name in enumerate(("宏达", "金晶", "瑞泰", "恒信", "天元", "美利"), start=1)
    ]
    admin = await login(client, await username_of(people["admin"]))
    created = await client.post("/api/v1/checklists/", headers=admin, json={
        "code": f"wh-{uuid.uuid4().hex[:6]}", "sector": "hazardous_chemicals", "title": "危险化学品企业安全检查表",
        "items": [
            {"code": "1.1", "text": "安全生产责任制建立并落实"},
            {"code": "2.1", "text": "特种作业人员持证上岗"},
            {"code": "3.1", "text": "可燃有毒气体检测报警装置完好"},
        ]})
    assert created.status_code == 201, created.text
    office = Office(
        client=client, department_id=a, other_department_id=b, inspectors=inspectors, enterprises=enterprises,
        template_id=uuid.UUID(created.json()["id"]), items=[uuid.UUID(i["id"]) for i in created.json()["items"]],
        **people,
    )
    for user_id in [*people.values(), *inspectors]:
        office.usernames[user_id] = await username_of(user_id)
    return office


def phone(url: str, tmp_path: Path, name: str, transport: Any = None) -> SyncClient:
    return SyncClient(url, tmp_path / f"{name}.sqlite3", transport=transport,
                      retry=RetryPolicy(attempts=3, base_delay_s=0, max_delay_s=0))


async def sync_all(sc: SyncClient) -> None:
    for _ in range(5):
        report = await sc.sync()
        status = await sc.status()
        if report.complete and status.all_synced:
            break
    assert report.complete and status.all_synced and status.errors == [], (report, status)


@dataclass
class PhoneCheck:
    inspection_id: uuid.UUID
    hazard_id: uuid.UUID
    violation_id: uuid.UUID
    photo_ids: list[uuid.UUID]
    signature_id: uuid.UUID


async def phone_check(office: Office, url: str, tmp_path: Path, transport: Any = None) -> PhoneCheck:
    """A check assigned to inspectors 1 and 2, done on inspector 1's phone offline and synced to ``url``."""
    inspection = await office.assign(office.inspectors[:2])
    hazard_picture, scene, signature = tmp_path / "hazard.jpg", tmp_path / "scene.jpg", tmp_path / "signature.png"
    hazard_picture.write_bytes(photo(seed=5))
    scene.write_bytes(photo(seed=9))
    signature.write_bytes(photo("PNG", (320, 120), exif=False, seed=2))
    async with phone(url, tmp_path, "inspector-1", transport) as sc:
        await sc.login(office.usernames[office.inspectors[0]], PASSWORD)
        await sync_all(sc)
        await sc.start_inspection(inspection, longitude=105.19, latitude=37.51)
        await sc.record_item_result(inspection, office.items[0], outcome="pass")
        await sc.record_item_result(inspection, office.items[1], outcome="fail", note="一名电工无证上岗")
        await sc.record_item_result(inspection, office.items[2], outcome="pass")
        hazard = await sc.add_hazard(inspection, level="general", description="罐区可燃气体报警器未定期标定",
                                     deadline_date=bureau_today() + dt.timedelta(days=10),
                                     checklist_item_id=office.items[2], location="二号罐区")
        violation = await sc.add_violation(inspection, person_name="马小军", id_number=ID_NUMBER,
                                           violation_type="illegal_operation", description="无证从事电工作业",
                                           post="电工", certificate_required=True, certificate_held=False)
        first = await sc.attach_photo(inspection, hazard_picture, hazard_id=hazard, caption="报警器标定记录缺失",
                                      latitude=37.51, longitude=105.19)
        second = await sc.attach_photo(inspection, scene, caption="罐区全景")
        signed = await sc.attach_signature(inspection, signature, signer_name="刘总")
        await sc.submit_inspection(inspection, summary="发现一般隐患1处、三违1人", signed_by_name="刘总",
                                   signature_evidence_id=signed)
        await sync_all(sc)
    return PhoneCheck(inspection, hazard, violation, [first, second], signed)
