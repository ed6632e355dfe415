"""The on-site documents on the phone: synced with their PDFs, opened offline, signed by the party offline, sent later.

The case is built as it happens (a team's check filled and signed on a phone, enforcement decided through the
API; ``tests.server.documents.factories``), the 现场检查记录 and 责令限期整改指令书 are issued through the API;
then the lead inspector's phone syncs, loses its network, reopens the app from its service worker, opens the
record from IndexedDB, has the party sign it, and sends the signature when the network is back.
"""

from __future__ import annotations

import hashlib
import uuid

import pytest

from server.documents.tables import DocumentSignature
from server.evidence.tables import Evidence
from tests.conftest import username_of
from tests.phone_app import helpers
from tests.phone_app.conftest import Phone
from tests.server.documents.factories import make_case

pytestmark = pytest.mark.browser


async def test_documents_open_offline_and_the_party_signs_offline(client, app, served, phone, tmp_path):
    case = await make_case(client, app, tmp_path, n_items=2, n_photos=0)
    lead = case.inspectors[0]
    record = await case.issued(lead, type="inspection_record", inspection_id=case.inspection_id)
    order = await case.issued(lead, type="rectification_order", inspection_id=case.inspection_id)
    voided = await client.post(f"/api/v1/documents/{order['id']}/void", json={"reason": "整改期限有误，另行签发"},
                               headers=await case.headers(case.supervisor_id))
    assert voided.status_code == 200, voided.text
    measures = await case.issued(type="on_site_measures", action_id=case.suspension_id)

    page = await phone.new_page()
    p = Phone(page, served, "documents")
    await p.open()

    async def one_byte_changed(route):  # a damaged download (a proxy, a cut): the phone must not keep it
        answer = await route.fetch()
        body = bytearray(await answer.body())
        body[len(body) // 2] ^= 0x01
        await route.fulfill(response=answer, body=bytes(body))

    await page.route("**/api/v1/documents/*/pdf", one_byte_changed)
    await p.login(await username_of(lead))
    await page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    await page.wait_for_function("caches.keys().then(k => k.some(n => n.startsWith('fieldcheck-shell-')))")
    await p.sync()
    assert await page.evaluate("FC.store.db.pdfs.count()") == 0
    assert "SHA-256" in (await page.evaluate("FC.store.getMeta('last_error')") or "")
    await page.unroute("**/api/v1/documents/*/pdf")
    report = await p.sync()
    assert report["complete"] and report["documents"] == 3, report
    kept = await page.evaluate("FC.store.db.pdfs.toArray().then(r => r.map(x => x.sha256))")
    assert sorted(kept) == sorted([record["sha256"], order["sha256"], measures["sha256"]])

    # No network from here: the app reopens from its service worker, the document from IndexedDB.
    await phone.set_offline(True)
    await page.reload()
    await page.wait_for_function("window.FC && FC.app && FC.app.ready")
    await page.click(f"[data-inspection='{case.inspection_id}']")
    await page.wait_for_selector(f"[data-document='{record['id']}']")
    await page.wait_for_selector(f"[data-document='{order['id']}']")
    await page.locator(f"[data-document='{order['id']}']").scroll_into_view_if_needed()
    await p.shot("inspection-documents")
    pdf_requests: list[str] = []
    page.on("request", lambda r: pdf_requests.append(r.url) if "/api/v1/documents/" in r.url else None)

    await page.click(f"[data-document='{order['id']}']")
    await page.wait_for_selector("[data-testid=doc-refusal]")
    assert "已作废" in await page.inner_text("[data-testid=doc-refusal]")
    assert await page.locator("[data-testid=doc-sign]").count() == 0
    await page.go_back()

    await page.click(f"[data-document='{record['id']}']")
    await page.wait_for_selector("[data-testid=doc-kept]")
    await page.wait_for_selector("[data-testid=doc-pages] canvas[data-page='1']")
    await page.wait_for_function("Number(document.querySelector('[data-testid=doc-pages]').dataset.pages) >= 1")
    await p.shot("document-open-offline")
    assert await page.inner_text("[data-testid=doc-number]") == record["number"]
    shown = await page.evaluate("""async (sha) => {
        const src = document.querySelector('[data-testid=doc-pages] canvas').toDataURL().slice(0, 5);
        const kept = await FC.store.db.pdfs.get(sha);
        const bytes = new Uint8Array(await kept.blob.arrayBuffer());
        return { src, head: String.fromCharCode(...bytes.slice(0, 5)), sha: await FC.rules.sha256Hex(kept.blob) };
    }""", record["sha256"])
    assert shown["src"] == "data:" and shown["head"] == "%PDF-" and shown["sha"] == record["sha256"]
    await page.fill("input[name=doc-signer]", "王建国")
    await helpers.draw_signature(p, "[data-testid=doc-signature]")
    await p.shot("document-sign")
    await page.click("[data-testid=doc-sign]")
    await page.wait_for_selector("[data-testid=doc-signed]")
    await page.locator("[data-testid=doc-signed]").scroll_into_view_if_needed()
    assert pdf_requests == []  # opened without the network
    await p.shot("document-signed-offline")
    # the measures decision is signed too, still offline; meanwhile the supervisor voids it on the server
    await page.go_back()
    await page.click(f"[data-document='{measures['id']}']")
    await page.wait_for_selector("[data-testid=doc-pages][data-pages]:not([data-pages='0'])")
    await page.fill("input[name=doc-signer]", "王建国")
    await helpers.draw_signature(p, "[data-testid=doc-signature]")
    await page.click("[data-testid=doc-sign]")
    await page.wait_for_selector("[data-testid=doc-signed]")
    assert pdf_requests == []
    counts = await p.counts()
    assert counts["pending"] == 2 and counts["uploadsWaiting"] == 2, counts
    outbox = {e["payload"]["document_id"]: e["payload"] for e in await page.evaluate("FC.store.db.outbox.toArray()")}
    signing = outbox[record["id"]]
    assert (signing["kind"], signing["document_sha256"]) == ("sign_document", record["sha256"])
    assert await DocumentSignature.count().where(DocumentSignature.document == uuid.UUID(record["id"])) == 0
    late = await client.post(f"/api/v1/documents/{measures['id']}/void", json={"reason": "措施期限有误"},
                             headers=await case.headers(case.supervisor_id))
    assert late.status_code == 200, late.text

    # The network is back: the signature goes up with its image, and the server holds it as evidence of the document.
    await phone.set_offline(False)
    await helpers.sync_until_safe(p)
    [row] = await DocumentSignature.select().where(DocumentSignature.document == uuid.UUID(record["id"]))
    assert (row["document_sha256"], row["signer_name"], row["id"]) == (record["sha256"], "王建国", uuid.UUID(signing["id"]))
    evidence = await Evidence.select().where(Evidence.id == row["id"]).first()
    assert (evidence["kind"], evidence["status"]) == ("signature", "stored")
    assert evidence["sha256"] == signing["sha256"]
    assert hashlib.sha256(await case.pdf(record["id"])).hexdigest() == record["sha256"]  # the issued PDF untouched
    # the voided one's signature is refused, with the reason shown to the person; its image is not sent
    assert await DocumentSignature.count().where(DocumentSignature.document == uuid.UUID(measures["id"])) == 0
    await page.goto(f"{served}/app/#/sync")
    reason = page.locator("[data-outcome-seq] [data-testid=reason]")
    await reason.wait_for()
    assert "已作废" in await reason.inner_text()
    await p.shot("sync-signature-refused")
    await page.goto(f"{served}/app/#/i/{case.inspection_id}/doc/{record['id']}")
    uploads = await page.evaluate("FC.store.db.uploads.toArray()")
    assert {u["evidenceId"]: u["status"] for u in uploads} == {signing["id"]: "done", outbox[measures["id"]]["id"]: "failed"}
    await page.reload()
    await page.wait_for_selector("[data-testid=doc-signed]")
    await page.locator("[data-testid=doc-signed]").scroll_into_view_if_needed()
    await p.shot("document-signed-synced")
    assert p.errors == []
