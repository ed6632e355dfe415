"""Issuing through the API: the order rules and roles, voiding, corrections, the public verify page, immutability."""

from __future__ import annotations

import datetime as dt
import hashlib
from zoneinfo import ZoneInfo

from server.audit.tables import AuditEntry
from server.documents import policy
from server.documents.tables import Document
from storage import keys
from tests.conftest import make_user
from schemas.vocab import Role
from tests.server.documents.factories import make_case


async def test_order_rules_and_roles_through_the_api(client, app, tmp_path):
    case = await make_case(client, app, tmp_path, n_items=2, n_photos=1, decide=False)
    lead, outsider = case.inspectors[0], case.inspectors[2]

    early = await case.issue(lead, type="rectification_order", inspection_id=case.inspection_id)
    assert early.status_code == 409 and early.json()["code"] == "prerequisite_missing", early.text
    assert "现场检查记录" in early.json()["message"]
    for who in (case.leader_id, case.legal_id):
        assert (await case.issue(who, type="inspection_record", inspection_id=case.inspection_id)).status_code == 403
    assert (await case.issue(outsider, type="inspection_record", inspection_id=case.inspection_id)).status_code == 404
    other_department = await make_user(Role.SUPERVISOR)
    assert (await case.issue(other_department, type="inspection_record", inspection_id=case.inspection_id)).status_code == 404

    record = await case.issued(lead, type="inspection_record", inspection_id=case.inspection_id)
    again = await case.issue(lead, type="inspection_record", inspection_id=case.inspection_id)
    assert again.status_code == 409 and again.json()["code"] == "duplicate"

    assert (await case.issue(lead, type="penalty_notice", action_id=case.fine_id)).status_code == 403  # a supervisor's
    undecided = await case.issue(type="penalty_notice", action_id=case.fine_id)
    assert undecided.status_code == 409 and "已生效的罚款决定" in undecided.json()["message"], undecided.text
    decided = await client.post(f"/api/v1/enforcement-actions/{case.fine_id}/decision", json={"approve": True},
                                headers=await case.headers(case.supervisor_id))
    assert decided.json()["status"] == "in_effect"
    no_notice = await case.issue(type="penalty_decision_unit", action_id=case.fine_id)
    assert no_notice.status_code == 409 and "行政处罚告知书" in no_notice.json()["message"]
    wrong_kind = await case.issue(type="on_site_measures", action_id=case.fine_id)
    assert wrong_kind.status_code == 422 and wrong_kind.json()["field"] == "action_id"

    notice = await case.issued(type="penalty_notice", action_id=case.fine_id)
    assert (await client.post(f"/api/v1/documents/{notice['id']}/void", json={"reason": "金额有误"},
                              headers=await case.headers(lead))).status_code == 403
    voided = await client.post(f"/api/v1/documents/{notice['id']}/void", json={"reason": "金额有误"},
                               headers=await case.headers(case.supervisor_id))
    assert voided.status_code == 200 and voided.json()["status"] == "voided"
    assert voided.json()["number"] == notice["number"]
    after_void = await case.issue(type="penalty_decision_unit", action_id=case.fine_id)
    assert after_void.status_code == 409 and "行政处罚告知书" in after_void.json()["message"]
    renotice = await case.issued(type="penalty_notice", action_id=case.fine_id)
    assert renotice["number"] != notice["number"]  # a voided number is never given again
    assert int(renotice["number"].split("〕")[1][:-1]) == int(notice["number"].split("〕")[1][:-1]) + 1
    # the decision waits out the 陈述申辩 period, naming the day it becomes possible, unless the party waived
    waiting = await case.issue(type="penalty_decision_unit", action_id=case.fine_id)
    assert waiting.status_code == 409 and waiting.json()["code"] == "prerequisite_missing", waiting.text
    served = dt.datetime.fromisoformat(renotice["issued_at"]).astimezone(ZoneInfo("Asia/Shanghai")).date()
    possible = policy.decision_possible_from(served, hearing=False, calendar=policy.Calendar())
    assert f"{possible.year}年{possible.month}月{possible.day}日起方可作出决定" in waiting.json()["message"]
    waiver = {"outcome": "waived", "note": "当事人书面放弃陈述申辩"}
    statement = f"/api/v1/documents/{renotice['id']}/statement"
    assert (await client.post(statement, json=waiver, headers=await case.headers(case.leader_id))).status_code == 403
    assert (await client.post(statement, json=waiver, headers=await case.headers(outsider))).status_code == 404
    assert (await client.post(f"/api/v1/documents/{notice['id']}/statement", json=waiver,
                              headers=await case.headers(lead))).status_code == 409  # the voided notice
    assert (await client.post(f"/api/v1/documents/{record['id']}/statement", json=waiver,
                              headers=await case.headers(lead))).status_code == 422  # not a notice
    assert (await client.post(statement, json={"outcome": "waived", "note": ""},
                              headers=await case.headers(lead))).status_code == 400
    recorded = await client.post(statement, json=waiver, headers=await case.headers(lead))
    assert recorded.status_code == 201 and recorded.json()["outcome"] == "waived", recorded.text
    assert (await client.post(statement, json=waiver, headers=await case.headers(lead))).status_code == 409
    listed_statements = await client.get("/api/v1/documents/statements", params={"inspection_id": str(case.inspection_id)},
                                         headers=await case.headers(case.leader_id))
    assert [s["notice_id"] for s in listed_statements.json()] == [renotice["id"]]
    assert await AuditEntry.exists().where((AuditEntry.action == "document.statement") & (AuditEntry.entity_id == renotice["id"]))
    await case.issued(type="penalty_decision_unit", action_id=case.fine_id)

    # a correction supersedes: the old one says by which, the new one names the old
    by_inspector = await case.issue(lead, type="inspection_record", inspection_id=case.inspection_id,
                                    supersedes_id=record["id"], correction_reason="企业名称有误")
    assert by_inspector.status_code == 403  # correcting is a supervisor's, like voiding
    no_reason = await case.issue(type="inspection_record", inspection_id=case.inspection_id, supersedes_id=record["id"])
    assert no_reason.status_code == 422 and no_reason.json()["field"] == "correction_reason"
    correction = await case.issued(type="inspection_record", inspection_id=case.inspection_id, supersedes_id=record["id"],
                                   correction_reason="企业名称有误")
    old = (await client.get(f"/api/v1/documents/{record['id']}", headers=await case.headers(lead))).json()
    assert (old["status"], old["superseded_by_id"]) == ("superseded", correction["id"])
    assert correction["supersedes_id"] == record["id"] and correction["number"] != record["number"]
    twice = await case.issue(type="inspection_record", inspection_id=case.inspection_id, supersedes_id=record["id"],
                             correction_reason="再次更正")
    assert twice.status_code == 409

    # reading follows the check: the leader reads, an inspector of another team does not
    assert (await client.get(f"/api/v1/documents/{record['id']}", headers=await case.headers(case.leader_id))).status_code == 200
    assert (await client.get(f"/api/v1/documents/{record['id']}", headers=await case.headers(outsider))).status_code == 404
    assert (await client.get(f"/api/v1/documents/{record['id']}/pdf", headers=await case.headers(outsider))).status_code == 404
    listed = await client.get("/api/v1/documents/", params={"inspection_id": str(case.inspection_id)},
                              headers=await case.headers(outsider))
    assert listed.status_code == 404


async def test_verify_page_tells_issued_voided_and_changed_apart(client, app, tmp_path):
    case = await make_case(client, app, tmp_path, n_items=2, n_photos=1, decide=False)
    record = await case.issued(case.inspectors[0], type="inspection_record", inspection_id=case.inspection_id)
    pdf = await case.pdf(record["id"])
    code = record["short_code"]

    by_code = await client.get(f"/api/v1/public/documents/{code}")  # no login
    assert by_code.status_code == 200
    shown = by_code.json()
    assert (shown["found"], shown["status"], shown["number"], shown["sha256"]) == (True, "issued", record["number"],
                                                                                  hashlib.sha256(pdf).hexdigest())
    assert set(shown) <= {"found", "matches", "title", "number", "issuing_body", "issued_at", "status", "sha256"}
    assert "金沙岸" not in by_code.text and "张明远" not in by_code.text  # nothing the page adds beyond the paper
    lower = await client.get(f"/api/v1/public/documents/{code.lower().replace('-', '')}")
    assert lower.json()["number"] == record["number"]
    assert (await client.get("/api/v1/public/documents/ZZZZZ-ZZZZZ")).json() == {"found": False}

    exact = await client.post("/api/v1/public/documents/verify", content=pdf, headers={"content-type": "application/pdf"})
    assert exact.json()["found"] is True and exact.json()["matches"] is True
    changed = bytearray(pdf)
    changed[len(changed) // 2] ^= 0x01
    tampered = await client.post("/api/v1/public/documents/verify", content=bytes(changed))
    assert tampered.json() == {"found": False, "matches": False}
    against_code = await client.post("/api/v1/public/documents/verify", params={"code": code}, content=bytes(changed))
    assert against_code.json()["found"] is True and against_code.json()["matches"] is False

    page = await client.get(f"/verify/{code}")
    assert page.status_code == 200 and "有效" in page.text and record["number"] in page.text
    form = await client.post("/verify", files={"file": ("x.pdf", bytes(changed), "application/pdf")}, data={"code": ""})
    assert form.status_code == 200 and "未签发" in form.text

    voided = await client.post(f"/api/v1/documents/{record['id']}/void", json={"reason": "检查时间记录有误"},
                               headers=await case.headers(case.supervisor_id))
    assert voided.status_code == 200
    after = (await client.get(f"/api/v1/public/documents/{code}")).json()
    assert after["status"] == "voided" and after["voided_at"]
    assert "检查时间记录有误" not in (await client.get(f"/api/v1/public/documents/{code}")).text
    page = await client.get(f"/verify/{code}")
    assert "已作废" in page.text
    form = await client.post("/verify", files={"file": ("x.pdf", pdf, "application/pdf")}, data={"code": code})
    assert "已作废" in form.text and "完全一致" in form.text

    # immutable: kept write-once (and locked) under its hash; the hash is in the audit chain
    store = app.state.evidence_store
    info = await store.stat(keys.document_key(record["sha256"]))
    assert info.locked and info.size == len(pdf)
    entry = await AuditEntry.select().where(
        (AuditEntry.action == "document.issue") & (AuditEntry.entity_id == record["id"])).first()
    changes = entry["changes"] if isinstance(entry["changes"], dict) else __import__("json").loads(entry["changes"])
    assert changes["sha256"] == record["sha256"] and changes["number"] == record["number"]
    row = await Document.select(Document.number, Document.status).where(Document.id == record["id"]).first()
    assert row == {"number": record["number"], "status": "voided"}


async def test_verify_upload_is_bounded(client, app, tmp_path):
    too_big = app.state.settings.documents.max_verify_bytes + 1
    response = await client.post("/api/v1/public/documents/verify", content=b"%PDF-" + b"0" * too_big)
    assert response.status_code == 413
