"""A fixture case built the way the records really arrive: a checklist through the API, a check assigned by a
supervisor, filled, photographed and signed on an inspector's phone (``sync_client`` against the app), and
enforcement actions proposed on the phone and decided (and 法制审核) through the API."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from schemas.vocab import District, Role
from server.hazards.tables import RecheckAssignee, Recheck
from sync_client import RetryPolicy, SyncClient
from tests.conftest import PASSWORD, login, make_department, make_enterprise, make_user, username_of
from tests.server.evidence.images import photo
from tests.dates import bureau_today

ID_NUMBER = "11010519491231002X"
FINE_YUAN = 30000
OFFICER_NAMES = ("张明远", "李卫东", "王志刚", "赵海燕")


def phone(app: Any, tmp_path: Path, name: str) -> SyncClient:
    return SyncClient("http://fieldcheck.test", tmp_path / f"{name}.sqlite3", transport=httpx.ASGITransport(app=app),
                      retry=RetryPolicy(attempts=2, base_delay_s=0, max_delay_s=0))


async def sync_all(sc: SyncClient) -> None:
    for _ in range(6):
        report = await sc.sync()
        if report.complete and (await sc.status()).all_synced:
            break
    status = await sc.status()
    assert report.complete and status.all_synced and status.errors == [], (report, status)


@dataclass
class Case:
    client: httpx.AsyncClient
    app: Any
    tmp_path: Path
    department_id: uuid.UUID
    supervisor_id: uuid.UUID
    other_supervisor_id: uuid.UUID
    leader_id: uuid.UUID
    legal_id: uuid.UUID
    inspectors: list[uuid.UUID]
    enterprise_id: uuid.UUID
    inspection_id: uuid.UUID
    items: list[dict[str, Any]]
    hazard_id: uuid.UUID
    violation_id: uuid.UUID
    fine_id: uuid.UUID
    suspension_id: uuid.UUID
    transfer_id: uuid.UUID
    photo_ids: list[uuid.UUID]
    extra_violation_ids: list[uuid.UUID] = field(default_factory=list)
    _headers: dict[uuid.UUID, dict[str, str]] = field(default_factory=dict)

    async def headers(self, user_id: uuid.UUID) -> dict[str, str]:
        if user_id not in self._headers:
            self._headers[user_id] = await login(self.client, await username_of(user_id))
        return self._headers[user_id]

    async def issue(self, user_id: uuid.UUID | None = None, **body: Any) -> httpx.Response:
        body = {k: str(v) if isinstance(v, uuid.UUID) else v for k, v in body.items()}
        return await self.client.post("/api/v1/documents/", json=body, headers=await self.headers(user_id or self.supervisor_id))

    async def issued(self, user_id: uuid.UUID | None = None, **body: Any) -> dict[str, Any]:
        response = await self.issue(user_id, **body)
        assert response.status_code == 201, response.text
        return response.json()

    async def waived(self, notice_id: str, user_id: uuid.UUID | None = None) -> dict[str, Any]:
        """The party of the notice waives its 陈述申辩, recorded through the API (the decision need not wait)."""
        response = await self.client.post(f"/api/v1/documents/{notice_id}/statement", json={
            "outcome": "waived", "note": "当事人当场签署《放弃陈述申辩权利声明》"}, headers=await self.headers(user_id or self.supervisor_id))
        assert response.status_code == 201, response.text
        return response.json()

    async def pdf(self, document_id: str, user_id: uuid.UUID | None = None) -> bytes:
        response = await self.client.get(f"/api/v1/documents/{document_id}/pdf", headers=await self.headers(user_id or self.supervisor_id))
        assert response.status_code == 200, response.text
        return response.content

    async def recheck(self, *, passed: bool = True) -> tuple[uuid.UUID, list[uuid.UUID]]:
        """The enterprise reports the hazard fixed on the phone; an assigned inspector records the recheck."""
        async with phone(self.app, self.tmp_path, "lead-2") as sc:
            await sc.login(await username_of(self.inspectors[0]), PASSWORD)
            await sync_all(sc)
            await sc.report_rectification(self.hazard_id, note="已在配电箱加装防护门并上锁")
            await sync_all(sc)
        [recheck] = await Recheck.select().where(Recheck.hazard == self.hazard_id)
        assignees = [a["user"] for a in await RecheckAssignee.select(RecheckAssignee.user).where(
            RecheckAssignee.recheck == recheck["id"])]
        async with phone(self.app, self.tmp_path, "rechecker") as sb:
            await sb.login(await username_of(assignees[0]), PASSWORD)
            await sync_all(sb)
            await sb.report_recheck(recheck["id"], passed=passed, note="防护门已安装，复查合格" if passed else "仍未整改")
            await sync_all(sb)
        return recheck["id"], assignees


async def _decide(client: httpx.AsyncClient, action_id: uuid.UUID, supervisor: dict, legal: dict) -> None:
    decided = await client.post(f"/api/v1/enforcement-actions/{action_id}/decision", json={"approve": True}, headers=supervisor)
    assert decided.status_code == 200, decided.text
    if decided.json()["status"] == "awaiting_review":
        reviewed = await client.post(f"/api/v1/enforcement-actions/{action_id}/legal-review",
                                     json={"approve": True, "opinion": "事实清楚，证据确凿，适用依据正确"}, headers=legal)
        assert reviewed.status_code == 200, reviewed.text
        assert reviewed.json()["status"] == "in_effect"


async def make_case(client: httpx.AsyncClient, app: Any, tmp_path: Path, *, n_items: int = 4, n_photos: int = 2,
                    decide: bool = True, extra_people: int = 0) -> Case:
    """``extra_people``: more 三违 recorded on the check before it is signed (each a party of its own notice)."""
    department = await make_department()
    shapotou = [District.SHAPOTOU]
    supervisor = await make_user(Role.SUPERVISOR, department_id=department, districts=shapotou)
    other_supervisor = await make_user(Role.SUPERVISOR, department_id=department, districts=shapotou)
    inspectors = [await make_user(Role.INSPECTOR, department_id=department, districts=shapotou) for _ in range(4)]
    enterprise = await make_enterprise(name="中卫市金沙岸化工有限公司", address="中卫市沙坡头区工业园区纬三路8号")
    admin = await login(client, await username_of(await make_user(Role.ADMIN)))
    for user_id, name in zip(inspectors, OFFICER_NAMES):
        renamed = await client.patch(f"/api/v1/users/{user_id}", json={"display_name": name}, headers=admin)
        assert renamed.status_code == 200, renamed.text
    items_body = [{"code": f"YB-{n + 1}", "text": f"第{n + 1}项：安全警示标志、防护设施设置齐全有效",
                   "legal_basis": f"《中华人民共和国安全生产法》第{35 + n % 10}条"} for n in range(n_items)]
    created = await client.post("/api/v1/checklists/", headers=admin, json={
        "code": f"doc-{uuid.uuid4().hex[:6]}", "sector": "industry_trade", "title": "工贸企业安全生产检查表",
        "basis": "《中华人民共和国安全生产法》", "items": items_body})
    assert created.status_code == 201, created.text
    template = created.json()
    sup_headers = await login(client, await username_of(supervisor))
    assigned = await client.post("/api/v1/inspections/", headers=sup_headers, json={
        "enterprise_id": str(enterprise), "template_id": template["id"], "kind": "enforcement",
        "inspector_ids": [str(inspectors[0]), str(inspectors[1])]})
    assert assigned.status_code == 201, assigned.text
    inspection = uuid.UUID(assigned.json()["id"])
    items = template["items"]
    deadline = bureau_today() + dt.timedelta(days=20)

    async with phone(app, tmp_path, "lead") as sc:
        await sc.login(await username_of(inspectors[0]), PASSWORD)
        await sync_all(sc)
        await sc.start_inspection(inspection, longitude=105.18967, latitude=37.51472)
        await sc.record_item_result(inspection, items[0]["id"], outcome="fail", note="配电箱无防护门")
        for item in items[1:]:
            await sc.record_item_result(inspection, item["id"], outcome="pass")
        hazard = await sc.add_hazard(inspection, level="general", description="二号车间配电箱未设防护门",
                                     deadline_date=deadline, checklist_item_id=uuid.UUID(items[0]["id"]), location="二号车间")
        violation = await sc.add_violation(inspection, person_name="李四", id_number=ID_NUMBER,
                                           violation_type="illegal_operation", description="未持证从事电工作业",
                                           post="电工", certificate_required=True, certificate_held=False)
        extra_violations = [
            await sc.add_violation(inspection, person_name=f"工人{k}", id_number=ID_NUMBER,
                                   violation_type="labor_discipline", description="脱岗")
            for k in range(extra_people)
        ]
        photo_ids = []
        for n in range(n_photos):
            picture = tmp_path / f"photo-{n}.jpg"
            picture.write_bytes(photo(seed=n + 1))
            photo_ids.append(await sc.attach_photo(inspection, picture, hazard_id=hazard if n % 2 == 0 else None,
                                                   caption=f"现场照片{n + 1}", latitude=37.51472, longitude=105.18967))
        signature = tmp_path / "signature.png"
        signature.write_bytes(photo("PNG", (300, 120), exif=False, seed=9))
        signature_id = await sc.attach_signature(inspection, signature, signer_name="王建国")
        fine = await sc.propose_enforcement(kind="fine", reason="未按规定对配电设施设置防护，且安排未持证人员从事电工作业",
                                            hazard_id=hazard, amount_yuan=FINE_YUAN,
                                            legal_basis="《中华人民共和国安全生产法》第九十九条")
        suspension = await sc.propose_enforcement(kind="suspension", reason="二号车间存在触电危险，须停止使用配电设施",
                                                  hazard_id=hazard, legal_basis="《中华人民共和国安全生产法》第六十五条",
                                                  deadline_date=deadline)
        transfer = await sc.propose_enforcement(kind="judicial_transfer", reason="安排未持证人员作业，涉嫌重大责任事故",
                                                inspection_id=inspection, legal_basis="《中华人民共和国刑法》第一百三十四条")
        await sc.submit_inspection(inspection, summary="发现一般隐患1处、三违1人", signed_by_name="王建国",
                                   signature_evidence_id=signature_id)
        await sync_all(sc)

    legal = await make_user(Role.LEGAL_REVIEWER)
    case = Case(client=client, app=app, tmp_path=tmp_path, department_id=department, supervisor_id=supervisor,
                other_supervisor_id=other_supervisor, leader_id=await make_user(Role.LEADER), legal_id=legal,
                inspectors=inspectors, enterprise_id=enterprise, inspection_id=inspection, items=items, hazard_id=hazard,
                violation_id=violation, fine_id=fine, suspension_id=suspension, transfer_id=transfer, photo_ids=photo_ids,
                extra_violation_ids=extra_violations)
    if decide:
        legal_headers = await case.headers(legal)
        for action in (fine, suspension, transfer):
            await _decide(client, action, sup_headers, legal_headers)
    return case
