"""Every public method of ``SyncClient`` against the real app on PostgreSQL, checked in the server's rows.

One inspector's day on a phone: log in, pull the assignment, start it, fill every item, record a general and a
major hazard, a 三违, a photo and the signature, propose an enforcement action, note, sign; then a rectification
report and, on the recheck inspector's phone, the recheck. Each write is checked in the server's tables after sync,
and the local view of each record has the shape the server's record arrives in.
"""

from __future__ import annotations

import datetime as dt
import inspect
import uuid
from pathlib import Path

import httpx
import pytest

from schemas import sync as wire
from schemas.identifiers import mask_id_number
from schemas.vocab import Role
from server.enforcement.tables import EnforcementAction
from server.evidence.tables import Evidence
from server.hazards.tables import Hazard, Recheck, RecheckAssignee
from server.inspections.tables import Inspection, InspectionAmendment, ItemResult
from server.violations.tables import ViolationRecord
from sync_client import InvalidRecord, RetryPolicy, SyncClient
from sync_client import _client
from tests.conftest import PASSWORD, login, make_user, username_of
from tests.server.evidence.images import photo
from tests.server.sync.conftest import team  # noqa: F401  (fixture)
from tests.dates import bureau_today

ID_NUMBER = "11010519491231002X"  # a valid GB 11643 number
#: Every public method and property of SyncClient this file exercises; a new one must be added (and tested) here.
EXERCISED = {
    "login", "sync", "status", "records", "assignments", "store", "device_id", "user_id",
    "start_inspection", "record_item_result", "add_hazard", "report_rectification", "report_recheck",
    "add_violation", "propose_enforcement", "attach_photo", "attach_signature", "submit_inspection", "add_note",
}
#: Methods that act on what the server answered (kept rejections, stuck records, failed photos): their
#: real-server tests live beside those answers, in tests/sync_client/test_outcomes.py.
EXERCISED_IN_OUTCOMES = {"acknowledge", "retry", "discard", "retry_photo", "discard_photo"}
#: The on-site documents (they need issued documents first): tests/server/documents/test_signing_on_phone.py.
EXERCISED_IN_DOCUMENTS = {"document_pdf", "sign_document"}
SIGNING = Path(__file__).parents[1] / "server" / "documents" / "test_signing_on_phone.py"


def phone(app, tmp_path, name: str) -> SyncClient:
    return SyncClient("http://fieldcheck.test", tmp_path / f"{name}.sqlite3", transport=httpx.ASGITransport(app=app),
                      retry=RetryPolicy(attempts=2, base_delay_s=0, max_delay_s=0))


async def sync_all(sc: SyncClient) -> None:
    for _ in range(4):
        report = await sc.sync()
        if report.complete and (await sc.status()).all_synced:
            break
    status = await sc.status()
    assert report.complete and status.all_synced and status.errors == [], (report, status)


async def _template_with_a_major_item(client) -> tuple[str, list[str]]:
    admin = await login(client, await username_of(await make_user(Role.ADMIN)))
    body = {"code": f"gm-{uuid.uuid4().hex[:6]}", "sector": "industry_trade", "title": "工贸企业检查表", "items": [
        {"code": "ZX-1", "text": "有限空间作业执行先通风、再检测、后作业", "is_major_criterion": True},
        {"code": "YB-1", "text": "安全警示标志齐全、清晰"},
        {"code": "YB-2", "text": "消防通道畅通"},
    ]}
    created = await client.post("/api/v1/checklists/", json=body, headers=admin)
    assert created.status_code == 201, created.text
    return created.json()["id"], [i["id"] for i in created.json()["items"]]


def _public_members() -> set[str]:
    return {name for name, _ in inspect.getmembers(SyncClient) if not name.startswith("_")} - {"WRITES"}


def test_every_public_method_of_sync_client_is_exercised_against_a_server():
    tested = EXERCISED | EXERCISED_IN_OUTCOMES | EXERCISED_IN_DOCUMENTS
    assert _public_members() - tested == set(), "a public SyncClient method has no test against the server"
    assert tested - _public_members() == set()
    outcomes = (Path(__file__).parent / "test_outcomes.py").read_text()
    assert all(f".{name}(" in outcomes for name in EXERCISED_IN_OUTCOMES)
    assert all(f".{name}(" in SIGNING.read_text() for name in EXERCISED_IN_DOCUMENTS)


def test_every_mutation_kind_the_server_accepts_has_a_sync_client_method():
    kinds = {str(t.__struct_config__.tag) for t in wire.MUTATION_TYPES}
    assert kinds - set(SyncClient.WRITES) == set(), "a kind of MUTATION_TYPES has no SyncClient method"
    assert set(SyncClient.WRITES) == kinds
    for names in SyncClient.WRITES.values():
        assert all(inspect.iscoroutinefunction(getattr(SyncClient, n)) for n in names)


async def test_every_method_reaches_the_server_with_the_fields_it_was_given(client, app, team, tmp_path):
    template_id, (major_item, *general_items) = await _template_with_a_major_item(client)
    inspection = await team.assign(client, [team.inspectors[0]], template_id=template_id)
    deadline = bureau_today() + dt.timedelta(days=30)
    five = {"responsible_person": "张厂长", "measures": "停止有限空间作业，配齐检测仪", "funds_yuan": 20000,
            "deadline_date": deadline - dt.timedelta(days=5), "contingency_plan": "有限空间事故应急预案"}
    picture, signature = tmp_path / "hazard.jpg", tmp_path / "signature.png"
    picture.write_bytes(photo(seed=3))
    signature.write_bytes(photo(seed=4))

    async with phone(app, tmp_path, "a") as sc:
        user = await sc.login(await username_of(team.inspectors[0]), PASSWORD)
        assert sc.user_id == uuid.UUID(user["id"]) == team.inspectors[0] and isinstance(sc.device_id, uuid.UUID)
        await sync_all(sc)
        [job] = await sc.assignments()
        assert job["id"] == str(inspection)
        await sc.start_inspection(inspection, longitude=105.19, latitude=37.5)
        await sc.record_item_result(inspection, major_item, outcome="fail", note="有限空间未检测即作业")
        with pytest.raises(InvalidRecord) as refused:  # signing needs every item answered
            await sc.submit_inspection(inspection, summary="x")
        assert refused.value.field == "items"
        for item in general_items:
            await sc.record_item_result(inspection, item, outcome="pass")
        general = await sc.add_hazard(inspection, level="general", description="配电箱门未关闭",
                                      deadline_date=deadline, checklist_item_id=uuid.UUID(general_items[0]),
                                      location="二号车间")
        major = await sc.add_hazard(inspection, level="major", description="有限空间作业未检测",
                                    deadline_date=deadline, checklist_item_id=uuid.UUID(major_item), five_in_place=five)
        violation = await sc.add_violation(inspection, person_name="李四", id_number=ID_NUMBER.lower(),
                                           violation_type="illegal_operation", description="未经检测进入有限空间",
                                           post="维修工", certificate_required=True, certificate_held=False)
        photo_id = await sc.attach_photo(inspection, picture, hazard_id=general, caption="配电箱", latitude=37.5,
                                         longitude=105.19)
        person_photo = await sc.attach_photo(inspection, picture, violation_id=violation, caption="无证作业人员")
        signature_id = await sc.attach_signature(inspection, signature, signer_name="王五")
        action = await sc.propose_enforcement(kind="rectify_order", reason="责令限期整改有限空间作业", hazard_id=major,
                                              legal_basis="《安全生产法》第六十五条", deadline_date=deadline)
        note = await sc.add_note(inspection, "企业负责人在场")
        await sc.submit_inspection(inspection, summary="发现隐患2处", signed_by_name="王五",
                                   signature_evidence_id=signature_id)
        local = {kind: {r["id"]: r for r in await sc.records(kind)}
                 for kind in ("hazard", "violation", "evidence", "enforcement_action", "amendment", "inspection")}
        assert local["violation"][str(violation)]["id_number_masked"] == mask_id_number(ID_NUMBER)
        assert local["hazard"][str(general)]["evidence_ids"] == [str(photo_id)]
        assert local["violation"][str(violation)]["evidence_ids"] == [str(person_photo)]
        assert sc.store.counts()["pending"] == 13
        await sync_all(sc)

        # the server holds every record with the fields the phone was given
        rows = await Hazard.select().where(Hazard.inspection == inspection)
        by_id = {r["id"]: r for r in rows}
        assert (by_id[general]["level"], by_id[general]["location_text"], by_id[general]["deadline_date"]) == (
            "general", "二号车间", deadline)
        assert (by_id[major]["level"], by_id[major]["responsible_person"], by_id[major]["funds_yuan"],
                by_id[major]["listed_supervision"]) == ("major", "张厂长", 20000, True)
        v = await ViolationRecord.select().where(ViolationRecord.id == violation).first()
        assert (v["person_name"], v["id_number_masked"], v["post"], v["certificate_held"]) == (
            "李四", mask_id_number(ID_NUMBER), "维修工", False)
        evidence = {r["id"]: r for r in await Evidence.select().where(Evidence.inspection == inspection)}
        assert (evidence[photo_id]["kind"], evidence[photo_id]["hazard"], evidence[photo_id]["status"]) == (
            "photo", general, "stored")
        assert (evidence[signature_id]["kind"], evidence[signature_id]["signer_name"],
                evidence[signature_id]["status"]) == ("signature", "王五", "stored")
        a = await EnforcementAction.select().where(EnforcementAction.id == action).first()
        assert (a["kind"], a["status"], a["hazard"], a["inspection"], a["deadline_date"], a["proposed_by"]) == (
            "rectify_order", "proposed", major, inspection, deadline, team.inspectors[0])
        assert (await InspectionAmendment.select().where(InspectionAmendment.id == note).first())["text"] == "企业负责人在场"
        i = await Inspection.select().where(Inspection.id == inspection).first()
        assert (i["status"], i["summary"], i["signed_by_name"], i["longitude"]) == ("submitted", "发现隐患2处", "王五", 105.19)
        assert await ItemResult.count().where(ItemResult.inspection == inspection) == 3

        # what the phone showed before syncing has the shape of what the server sent back
        server = {kind: {r["id"]: r for r in await sc.records(kind)} for kind in local}
        for kind, records in local.items():
            for record_id, record in records.items():
                assert set(record) == set(server[kind][record_id]), (kind, set(record) ^ set(server[kind][record_id]))
        same = ("level", "status", "description", "deadline_date", "enterprise_id", "five_in_place",
                "listed_supervision", "checklist_item_id", "evidence_ids")
        for hazard in (general, major):
            assert {f: local["hazard"][str(hazard)][f] for f in same} == {f: server["hazard"][str(hazard)][f] for f in same}
        for f in ("id_number_masked", "evidence_ids", "person_name", "enterprise_id"):
            assert local["violation"][str(violation)][f] == server["violation"][str(violation)][f]

        # after the visit: the enterprise reports the general hazard fixed
        assert await sc.report_rectification(general, note="已更换门锁") == general
        await sync_all(sc)
        h = await Hazard.select().where(Hazard.id == general).first()
        assert (h["status"], h["rectification_note"]) == ("rectification_reported", "已更换门锁")
        [recheck] = await Recheck.select().where(Recheck.hazard == general)
        assert recheck["status"] == "pending"

    assignee, *_ = await RecheckAssignee.select(RecheckAssignee.user).where(RecheckAssignee.recheck == recheck["id"])
    async with phone(app, tmp_path, "b") as sb:
        await sb.login(await username_of(assignee["user"]), PASSWORD)
        await sync_all(sb)
        assert str(recheck["id"]) in {r["id"] for r in await sb.records("recheck")}
        await sb.report_recheck(recheck["id"], passed=True, note="门锁已更换，复查合格")
        [shown] = [r for r in await sb.records("recheck") if r["id"] == str(recheck["id"])]
        assert (shown["status"], shown["note"]) == ("passed", "门锁已更换，复查合格")
        await sync_all(sb)
    done = await Recheck.select().where(Recheck.id == recheck["id"]).first()
    assert (done["status"], done["passed"], done["note"], done["result_by"]) == (
        "passed", True, "门锁已更换，复查合格", assignee["user"])


async def test_a_write_the_server_would_refuse_raises_naming_the_field_and_queues_nothing(client, app, team, tmp_path):
    template_id, (major_item, *general) = await _template_with_a_major_item(client)
    inspection = await team.assign(client, [team.inspectors[0]], template_id=template_id)
    deadline = bureau_today() + dt.timedelta(days=30)
    async with phone(app, tmp_path, "a") as sc:
        await sc.login(await username_of(team.inspectors[0]), PASSWORD)
        await sync_all(sc)
        await sc.start_inspection(inspection)
        before = sc.store.counts()["pending"]
        bad_id = ID_NUMBER[:-1] + "1"  # check digit wrong
        cases = [
            ("id_number", sc.add_violation(inspection, person_name="李四", id_number=bad_id,
                                           violation_type="illegal_operation", description="x")),
            ("five_in_place", sc.add_hazard(inspection, level="major", description="有限空间作业未检测",
                                            deadline_date=deadline, checklist_item_id=uuid.UUID(major_item))),
            ("five_in_place.contingency_plan", sc.add_hazard(
                inspection, level="major", description="有限空间作业未检测", deadline_date=deadline,
                checklist_item_id=uuid.UUID(major_item),
                five_in_place={"responsible_person": "张", "measures": "停工", "funds_yuan": 1,
                               "deadline_date": deadline, "contingency_plan": " "})),
            ("level", sc.add_hazard(inspection, level="general", description="x", deadline_date=deadline,
                                    checklist_item_id=uuid.UUID(major_item))),
            ("level", sc.add_hazard(inspection, level="severe", description="x", deadline_date=deadline)),
            ("deadline_date", sc.add_hazard(inspection, level="general", description="x",
                                            deadline_date=bureau_today() - dt.timedelta(days=2))),
            ("description", sc.add_hazard(inspection, level="general", description="", deadline_date=deadline)),
            ("amount_yuan", sc.propose_enforcement(kind="fine", reason="罚款", inspection_id=inspection)),
            ("inspection_id", sc.add_hazard(uuid.uuid4(), level="general", description="x", deadline_date=deadline)),
            ("items", sc.submit_inspection(inspection)),
            ("outcome", sc.record_item_result(inspection, uuid.UUID(general[0]), note="只写了备注")),  # first: no outcome
            ("outcome", sc.record_item_result(inspection, uuid.UUID(general[0]))),  # nothing to record
        ]
        for field, call in cases:
            with pytest.raises(InvalidRecord) as refused:
                await call
            assert refused.value.field == field and refused.value.message, (field, refused.value)
        assert sc.store.counts()["pending"] == before  # nothing was queued
        assert await sc.records("hazard") == [] and await sc.records("violation") == []


async def test_a_photo_queue_that_cannot_be_built_stops_the_client_instead_of_dropping_photos(tmp_path, monkeypatch):
    def broken(client):  # a refactor slip: the queue's signature changed
        raise TypeError("UploadQueue() takes no arguments")

    monkeypatch.setattr(_client, "UploadQueue", broken)
    with pytest.raises(TypeError):
        async with SyncClient("http://fieldcheck.test", tmp_path / "phone.sqlite3"):
            pass
