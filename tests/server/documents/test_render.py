"""Every document type, issued in its legal order from one fixture case, read back as text and as a picture.

The case is built through the services (phone sync, API decisions); each PDF is read with pdftotext for the
number, both officers and their 执法证 numbers, the enterprise, every item with its legal basis, and what the
type must say (deadlines, the party's rights); page 1 of each goes to tests/output/document-<type>.png.
"""

from __future__ import annotations

import hashlib
from typing import Any

from server.accounts.tables import User
from tests.server.documents import pdftext
from tests.server.documents.factories import FINE_YUAN, OFFICER_NAMES, Case, make_case


async def _common(case: Case, doc: dict[str, Any], pdf: bytes, officer_ids: list | None = None) -> str:
    assert hashlib.sha256(pdf).hexdigest() == doc["sha256"] and len(pdf) == doc["size"]
    assert pdf.startswith(b"%PDF-")
    text = pdftext.flat(pdftext.text(pdf))
    enterprise = (await case.client.get(f"/api/v1/enterprises/{case.enterprise_id}",
                                        headers=await case.headers(case.supervisor_id))).json()
    officers = await User.select(User.display_name, User.badge_number).where(
        User.id.is_in(officer_ids or case.inspectors[:2]))
    assert len(officers) == 2
    expected = [doc["number"], "中卫市应急管理局", doc["title"], enterprise["name"], enterprise["credit_code"],
                enterprise["address"], doc["short_code"]]
    expected += [o["display_name"] for o in officers] + [o["badge_number"] for o in officers]
    for value in expected:
        assert pdftext.flat(value) in text, (doc["type"], value)
    pdftext.first_page_png(pdf, doc["type"] + ("-person" if doc.get("violation_id") else ""))
    return text


async def test_every_document_type_renders_its_records_in_legal_order(client, app, tmp_path):
    case = await make_case(client, app, tmp_path, n_items=6, n_photos=3)
    lead = case.inspectors[0]

    record = await case.issued(lead, type="inspection_record", inspection_id=case.inspection_id)
    assert record["number"].startswith("（中卫）应急检记〔") and record["number"].endswith("〕1号")
    text = await _common(case, record, await case.pdf(record["id"]))
    for item in case.items:
        assert pdftext.flat(item["text"]) in text and pdftext.flat(item["legal_basis"]) in text, item
    assert "不符合" in text and "配电箱无防护门" in text and "二号车间配电箱未设防护门" in text
    assert "李四" in text and "110105***********X" in text  # the 三违, ID number masked
    assert "被检查单位负责人：王建国" in text and "附件：现场照片（共3张）" in text
    assert all(p in text for p in ("拍摄时间", "拍摄地点", "北纬37.51472°"))

    order = await case.issued(lead, type="rectification_order", inspection_id=case.inspection_id)
    text = await _common(case, order, await case.pdf(order["id"]))
    assert "二号车间配电箱未设防护门" in text and pdftext.flat(case.items[0]["legal_basis"]) in text
    assert "整改期限" in text and record["number"] in text
    assert "行政复议" in text and "行政诉讼" in text

    measures = await case.issued(lead, type="on_site_measures", action_id=case.suspension_id)
    text = await _common(case, measures, await case.pdf(measures["id"]))
    assert "第六十五条" in text and "暂时停产停业" in text and "行政复议" in text

    notice = await case.issued(type="penalty_notice", action_id=case.fine_id)
    text = await _common(case, notice, await case.pdf(notice["id"]))
    assert f"罚款人民币{FINE_YUAN}元" in text and "第九十九条" in text and "陈述和申辩" in text

    await case.waived(notice["id"])
    decision = await case.issued(type="penalty_decision_unit", action_id=case.fine_id)
    assert decision["number"].startswith("（中卫）应急罚〔")
    text = await _common(case, decision, await case.pdf(decision["id"]))
    assert notice["number"] in text and f"罚款人民币{FINE_YUAN}元" in text and "十五日内" in text.replace("15日内", "十五日内")
    assert "行政复议" in text and "行政诉讼" in text

    person_notice = await case.issued(type="penalty_notice", action_id=case.fine_id, violation_id=case.violation_id)
    await case.waived(person_notice["id"])
    person = await case.issued(type="penalty_decision_person", action_id=case.fine_id, violation_id=case.violation_id)
    text = await _common(case, person, await case.pdf(person["id"]))
    assert "当事人李四" in text and "110105***********X" in text and person_notice["number"] in text
    assert int(person["number"].split("〕")[1].rstrip("号")) == int(decision["number"].split("〕")[1].rstrip("号")) + 1

    transfer = await case.issued(type="case_transfer", action_id=case.transfer_id, receiving_agency="中卫市公安局沙坡头区分局")
    text = await _common(case, transfer, await case.pdf(transfer["id"]))
    assert "中卫市公安局沙坡头区分局" in text and "第一百三十四条" in text and record["number"] in text

    recheck_id, rechecked_by = await case.recheck(passed=True)
    refused = await case.issue(lead, type="recheck_opinion", recheck_id=recheck_id)
    assert refused.status_code == 403, refused.text  # a supervisor's document
    opinion = await case.issued(type="recheck_opinion", recheck_id=recheck_id)
    text = await _common(case, opinion, await case.pdf(opinion["id"]), rechecked_by)
    assert order["number"] in text and "已整改" in text and "同意销号" in text and "防护门已安装，复查合格" in text

    listed = await client.get("/api/v1/documents/", params={"inspection_id": str(case.inspection_id)},
                              headers=await case.headers(case.leader_id))
    assert listed.status_code == 200
    assert [d["type"] for d in listed.json()] == [
        "inspection_record", "rectification_order", "on_site_measures", "penalty_notice", "penalty_decision_unit",
        "penalty_notice", "penalty_decision_person", "case_transfer", "recheck_opinion"]
    assert set(OFFICER_NAMES[:2]) <= {o["display_name"] for o in await User.select(User.display_name)}
