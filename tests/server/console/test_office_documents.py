"""A case's documents through the console's own POSTs: the list, the PDF to print, issuing what the rules
allow (and the refusals naming what is missing), the 陈述申辩 wait and its waiver, voiding, correcting, the
case-file ZIP; leaders read only, an inspector of another team sees nothing. On PostgreSQL and SQLite."""

from __future__ import annotations

import hashlib
import re
import uuid

import httpx
import pytest

from server.documents.tables import Document
from tests.conftest import PASSWORD, username_of
from tests.server.documents.factories import Case, make_case
from tests.server.sync.conftest import sqlite_app  # noqa: F401  (fixture)


async def console_as(client: httpx.AsyncClient, user_id: uuid.UUID) -> dict[str, str]:
    client.cookies.clear()
    answer = await client.post("/console/login", data={"username": await username_of(user_id), "password": PASSWORD})
    assert answer.status_code == 303, answer.text
    token = re.search(r'"X-CSRF-Token": "([^"]+)"', (await client.get("/console")).text).group(1)
    return {"x-csrf-token": token, "hx-request": "true"}


def rows_of(page: str) -> dict[str, str]:
    """Document id -> the text of its row in the list."""
    return {m.group(1): m.group(2) for m in re.finditer(r'<tr data-document="([^"]+)"[^>]*>(.*?)</tr>', page, re.S)}


async def issued(case: Case, type_: str) -> dict:
    [row] = await Document.select().where((Document.inspection == case.inspection_id) & (Document.type == type_)
                                          & (Document.status == "issued"))
    return row


async def documents_in_console(client: httpx.AsyncClient, case: Case) -> None:
    ins = case.inspection_id
    page_path = f"/console/inspections/{ins}"
    post = await console_as(client, case.supervisor_id)
    page = await client.get(page_path)
    assert page.status_code == 200 and "执法文书" in page.text and "尚未签发文书" in page.text
    assert "签发现场检查记录" in page.text
    # the next documents wait for the record, and say so
    assert "签发责令限期整改指令书" not in page.text and "缺少已签发的现场检查记录" in page.text

    made = await client.post("/console/documents/issue", headers=post,
                             data={"type": "inspection_record", "inspection_id": str(ins), "back": page_path})
    assert made.status_code == 200 and made.headers["hx-redirect"] == page_path, made.text
    record = await issued(case, "inspection_record")
    page = await client.get(page_path)
    row = rows_of(page.text)[str(record["id"])]
    assert record["number"] in row and "现场检查记录" in row and "有效" in row
    assert "签发责令限期整改指令书" in page.text and "签发现场检查记录" not in page.text
    pdf = await client.get(f"/console/documents/{record['id']}/pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-disposition"].startswith("inline;")
    assert hashlib.sha256(pdf.content).hexdigest() == record["sha256"]

    # the penalty decision waits out the notice's 陈述申辩 period unless the party waived it
    assert (await client.post("/console/documents/issue", headers=post,
                              data={"type": "penalty_notice", "action_id": str(case.fine_id)})).status_code == 200
    notice = await issued(case, "penalty_notice")
    hazard_page = await client.get(f"/console/hazards/{case.hazard_id}")
    assert record["number"] in hazard_page.text and notice["number"] in hazard_page.text
    page = await client.get(f"/console/enforcement/{case.fine_id}")
    assert "起可作出处罚决定" in rows_of(page.text)[str(notice["id"])]
    waiting = re.search(r'<li data-type="penalty_decision_unit">(.*?)</li>', page.text, re.S).group(1)
    assert "方可作出决定" in waiting and "<form" not in waiting
    early = await client.post("/console/documents/issue", headers=post,
                              data={"type": "penalty_decision_unit", "action_id": str(case.fine_id)})
    assert early.status_code == 409 and "方可作出决定" in early.text

    # leaders read, never write; an inspector of another team sees nothing of the case
    leader = await console_as(client, case.leader_id)
    seen = await client.get(page_path)
    assert seen.status_code == 200 and notice["number"] in seen.text and "issue-form" not in seen.text
    assert "void-form" not in seen.text and "statement-form" not in seen.text
    assert (await client.post("/console/documents/issue", headers=leader,
                              data={"type": "rectification_order", "inspection_id": str(ins)})).status_code == 403
    assert (await client.post(f"/console/documents/{notice['id']}/statement", headers=leader,
                              data={"outcome": "waived", "note": "当事人放弃"})).status_code == 403
    assert (await client.get(f"/console/documents/{record['id']}/pdf")).status_code == 200
    await console_as(client, case.inspectors[2])
    assert (await client.get(f"/console/cases/{ins}/documents")).status_code == 404
    assert (await client.get(f"/console/documents/{record['id']}/pdf")).status_code == 404
    assert (await client.get(f"/console/cases/{ins}/casefile")).status_code == 404
    # the check's own inspector sees the case and may issue only the on-site documents
    lead = await console_as(client, case.inspectors[0])
    own = await client.get("/console/cases")
    assert f"/console/cases/{ins}/documents" in own.text
    mine = await client.get(f"/console/cases/{ins}/documents")
    assert mine.status_code == 200 and record["number"] in mine.text
    assert "签发责令限期整改指令书" in mine.text and "签发行政处罚决定书" not in mine.text and "void-form" not in mine.text
    assert (await client.post(f"/console/documents/{record['id']}/void", headers=lead,
                              data={"reason": "错误"})).status_code == 403

    post = await console_as(client, case.supervisor_id)
    waived = await client.post(f"/console/documents/{notice['id']}/statement", headers=post,
                               data={"outcome": "waived", "note": "当事人当场签署放弃陈述申辩声明", "back": page_path})
    assert waived.status_code == 200, waived.text
    page = await client.get(page_path)
    assert "当事人明确放弃陈述申辩" in rows_of(page.text)[str(notice["id"])]
    ready = re.search(r'<li data-type="penalty_decision_unit">(.*?)</li>', page.text, re.S).group(1)
    assert "签发行政处罚决定书（单位）" in ready
    assert (await client.post("/console/documents/issue", headers=post,
                              data={"type": "penalty_decision_unit", "action_id": str(case.fine_id)})).status_code == 200
    decision = await issued(case, "penalty_decision_unit")

    # void with a reason; correct = a new document superseding the old, with a reason
    assert (await client.post(f"/console/documents/{notice['id']}/void", headers=post, data={"reason": ""})).status_code in (400, 422)
    assert (await client.post(f"/console/documents/{record['id']}/correct", headers=post,
                              data={"reason": "企业地址有误"})).status_code == 200
    corrected = await issued(case, "inspection_record")
    assert corrected["id"] != record["id"] and corrected["supersedes"] == record["id"]
    voided = await client.post(f"/console/documents/{decision['id']}/void", headers=post, data={"reason": "送达对象有误"})
    assert voided.status_code == 200
    page = await client.get(page_path)
    rows = rows_of(page.text)
    assert "已被更正" in rows[str(record["id"])] and "已作废" in rows[str(decision["id"])] and "送达对象有误" in rows[str(decision["id"])]
    assert decision["number"] in rows[str(decision["id"])]  # a voided document keeps its number

    # the transfer's button asks for the receiving agency; without it the service refuses, naming it
    transfer = re.search(r'<li data-type="case_transfer">(.*?)</li>', page.text, re.S).group(1)
    assert "签发案件移送书" in transfer and 'name="receiving_agency"' in transfer
    no_agency = await client.post("/console/documents/issue", headers=post, data={"type": "case_transfer", "action_id": str(case.transfer_id)})
    assert no_agency.status_code == 409 and "接收移送的机关" in no_agency.text
    moved = await client.post("/console/documents/issue", headers=post, data={
        "type": "case_transfer", "action_id": str(case.transfer_id), "receiving_agency": "中卫市公安局沙坡头区分局"})
    assert moved.status_code == 200, moved.text
    assert (await issued(case, "case_transfer"))["number"] in (await client.get(page_path)).text

    archive = await client.get(f"/console/cases/{ins}/casefile")
    assert archive.status_code == 200 and archive.headers["content-type"] == "application/zip"
    assert archive.content[:2] == b"PK"
    client.cookies.clear()


async def test_documents_in_the_console(client, app, tmp_path):
    case = await make_case(client, app, tmp_path, n_items=2, n_photos=1)
    await documents_in_console(client, case)


@pytest.mark.sqlite
async def test_documents_in_the_console_embedded(client, sqlite_app, tmp_path):  # noqa: F811
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sqlite_app), base_url="http://fieldcheck.test") as c:
        case = await make_case(c, sqlite_app, tmp_path, n_items=2, n_photos=1)
        await documents_in_console(c, case)


async def test_a_covert_target_stays_off_the_team_s_document_pages_before_release(client) -> None:
    from tests.server.spotchecks.conftest import make_world, target_traces

    world = await make_world(client)
    campaign = await world.campaign()
    await world.draw(campaign["id"])
    tasks = await world.tasks(campaign["id"])
    assert tasks and all(t.get("inspection_id") is None for t in tasks)  # no check exists before release
    for task in tasks:
        for member in task["team"]:
            await console_as(client, uuid.UUID(member))
            for path in ("/console", "/console/cases"):
                page = await client.get(path)
                assert page.status_code == 200
                for trace in await target_traces(uuid.UUID(task["enterprise_id"])):
                    assert trace not in page.content, (path, trace)
    client.cookies.clear()
