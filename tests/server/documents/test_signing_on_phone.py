"""On-site documents on the team's phones and the party's signature coming back, through the real sync protocol.

The case is built on a phone and through the API (``factories.make_case``); the documents are issued through
the API; the phone pulls them (``sync_client``), fetches each PDF and checks its hash, and the party signs on
it (``SignDocument``). The refusals are pushed raw, as a phone that did not check first would push them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from typing import Any

import httpx
import pytest

from schemas import sync as wire
from schemas.documents import SignDocument
from server.audit.tables import AuditEntry
from server.documents.tables import DocumentSignature
from server.evidence.tables import Evidence
from sync_client import InvalidRecord, RequestRefused, RetryPolicy, SyncClient
from tests.conftest import PASSWORD, username_of
from tests.server.documents import pdftext
from tests.server.documents.factories import Case, make_case, phone, sync_all
from tests.server.evidence.images import photo
from tests.server.sync.conftest import make_phone
from tests.server.sync.conftest import sqlite_app  # noqa: F401  (fixture)


def _signature_png(tmp_path, seed: int) -> Any:
    path = tmp_path / f"party-signature-{seed}.png"
    path.write_bytes(photo("PNG", (300, 120), exif=False, seed=seed))
    return path


class _OneByteChanged(httpx.AsyncBaseTransport):
    """The app behind a network that damages every PDF it carries (one byte flipped): the phone must notice."""

    def __init__(self, app: Any) -> None:
        self._inner = httpx.ASGITransport(app=app)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        if not request.url.path.endswith("/pdf"):
            return response
        body = bytearray(await response.aread())
        body[len(body) // 2] ^= 0x01
        headers = {k: v for k, v in response.headers.items() if k.lower() not in ("content-length", "content-encoding")}
        return httpx.Response(response.status_code, headers=headers, content=bytes(body))


def _sign(seq: int, document: dict[str, Any], *, image: bytes, **changes: Any) -> SignDocument:
    fields: dict[str, Any] = {
        "seq": seq, "id": uuid.uuid4(), "document_id": uuid.UUID(document["id"]),
        "inspection_id": uuid.UUID(document["inspection_id"]), "document_sha256": document["sha256"],
        "signer_name": "王建国", "sha256": hashlib.sha256(image).hexdigest(), "size": len(image),
        "media_type": "image/png", "signed_at": dt.datetime.now(dt.UTC),
    }
    return SignDocument(**{**fields, **changes})


async def _documents(case: Case) -> dict[str, dict[str, Any]]:
    lead = case.inspectors[0]
    return {
        "record": await case.issued(lead, type="inspection_record", inspection_id=case.inspection_id),
        "order": await case.issued(lead, type="rectification_order", inspection_id=case.inspection_id),
        "measures": await case.issued(type="on_site_measures", action_id=case.suspension_id),
        "notice": await case.issued(type="penalty_notice", action_id=case.fine_id),  # served later, not on site
    }


async def _sign_on_the_phone(client: httpx.AsyncClient, app: Any, tmp_path) -> None:
    case = await make_case(client, app, tmp_path, n_items=2, n_photos=0)
    docs = await _documents(case)
    lead = case.inspectors[0]

    async with phone(app, tmp_path, "party-day") as sc:
        await sc.login(await username_of(lead), PASSWORD)
        await sync_all(sc)
        held = {d["id"]: d for d in await sc.records("document")}
        # the on-site documents reach the team's phone, in the inspection's scope; the penalty notice does not
        assert set(held) == {docs[k]["id"] for k in ("record", "order", "measures")}
        for key in ("record", "order", "measures"):
            got = held[docs[key]["id"]]
            assert (got["number"], got["type"], got["status"], got["sha256"]) == (
                docs[key]["number"], docs[key]["type"], "issued", docs[key]["sha256"])
            assert got["inspection_id"] == str(case.inspection_id)

        pdf = await sc.document_pdf(uuid.UUID(docs["record"]["id"]))
        assert hashlib.sha256(pdf).hexdigest() == docs["record"]["sha256"] and pdf == await case.pdf(docs["record"]["id"])
        assert pdf.startswith(b"%PDF")

        # the party signs the on-site record on the phone; the signature comes back as evidence of that document
        signature = _signature_png(tmp_path, 31)
        evidence_id = await sc.sign_document(uuid.UUID(docs["record"]["id"]), signature, signer_name="王建国")
        assert [s["id"] for s in await sc.records("document_signature")] == [str(evidence_id)]  # shown at once
        await sync_all(sc)
        [kept] = await sc.records("document_signature")  # now the server's record, pulled back
        assert (kept["document_id"], kept["document_sha256"], kept["document_number"]) == (
            docs["record"]["id"], docs["record"]["sha256"], docs["record"]["number"])
        with pytest.raises(InvalidRecord, match="已由当事人签收"):  # the phone asks the same rule before queueing
            await sc.sign_document(uuid.UUID(docs["record"]["id"]), signature, signer_name="王建国")

        # a voided document reaches the phone as voided, and the phone will not queue its signature
        voided = await client.post(f"/api/v1/documents/{docs['order']['id']}/void", json={"reason": "整改期限有误"},
                                   headers=await case.headers(case.supervisor_id))
        assert voided.status_code == 200, voided.text
        await sync_all(sc)
        order = next(d for d in await sc.records("document") if d["id"] == docs["order"]["id"])
        assert order["status"] == "voided"
        with pytest.raises(InvalidRecord, match="已作废"):
            await sc.sign_document(uuid.UUID(docs["order"]["id"]), signature, signer_name="王建国")

    # bytes that are not the issued document's are refused on the phone and never kept
    async with SyncClient("http://fieldcheck.test", tmp_path / "damaged.sqlite3", transport=_OneByteChanged(app),
                          retry=RetryPolicy(attempts=2, base_delay_s=0, max_delay_s=0)) as damaged:
        await damaged.login(await username_of(case.inspectors[1]), PASSWORD)
        await sync_all(damaged)
        with pytest.raises(RequestRefused) as refused_pdf:
            await damaged.document_pdf(uuid.UUID(docs["record"]["id"]))
        assert refused_pdf.value.code == "document_hash_mismatch"
        assert not list((tmp_path).glob("damaged-documents/*.pdf"))

    [row] = await DocumentSignature.select().where(DocumentSignature.inspection == case.inspection_id)
    assert (row["id"], str(row["document"]), row["document_sha256"], row["signer_name"]) == (
        evidence_id, docs["record"]["id"], docs["record"]["sha256"], "王建国")
    evidence = await Evidence.select().where(Evidence.id == evidence_id).first()
    assert (evidence["kind"], evidence["status"], evidence["signer_name"]) == ("signature", "stored", "王建国")
    assert evidence["sha256"] == hashlib.sha256(signature.read_bytes()).hexdigest()
    assert docs["record"]["number"] in evidence["caption"]
    [audited] = await AuditEntry.select().where(AuditEntry.action == "document.sign")
    assert str(audited["entity_id"]) == docs["record"]["id"]
    # the issued PDF is untouched: still byte for byte what was issued
    assert hashlib.sha256(await case.pdf(docs["record"]["id"])).hexdigest() == docs["record"]["sha256"]

    # the signed copy: a page of its own naming the original by number and SHA-256 with the signature, stored once
    supervisor = await case.headers(case.supervisor_id)
    unsigned = await client.get(f"/api/v1/documents/{docs['measures']['id']}/signed-copy", headers=supervisor)
    assert unsigned.status_code == 404 and "尚无当事人签收" in unsigned.json()["message"], unsigned.text
    copy = await client.get(f"/api/v1/documents/{docs['record']['id']}/signed-copy", headers=supervisor)
    assert copy.status_code == 200 and copy.content.startswith(b"%PDF"), copy.text
    text = pdftext.flat(pdftext.text(copy.content))
    for expected in ("现场检查记录签收页", docs["record"]["number"], docs["record"]["sha256"], "当事人签收：王建国",
                     evidence["sha256"], "原件未作任何改动"):
        assert expected in text, expected
    pdftext.first_page_png(copy.content, "signed-copy-inspection_record")
    again = await client.get(f"/api/v1/documents/{docs['record']['id']}/signed-copy", headers=await case.headers(lead))
    assert again.status_code == 200 and again.content == copy.content  # read back, not rendered again
    [row] = await DocumentSignature.select().where(DocumentSignature.id == evidence_id)
    assert row["copy_sha256"] == hashlib.sha256(copy.content).hexdigest() != docs["record"]["sha256"]
    assert hashlib.sha256(await case.pdf(docs["record"]["id"])).hexdigest() == docs["record"]["sha256"]
    assert await AuditEntry.count().where(AuditEntry.action == "document.signed_copy") == 1

    # --- pushed raw: what the server refuses, whatever a phone sends ------------------------------------------
    raw = await make_phone(client, lead)
    image = photo("PNG", (300, 120), exif=False, seed=41)

    def refused(outcome: wire.Outcome, code: str, text: str) -> None:
        assert isinstance(outcome, wire.Rejected), outcome
        assert outcome.code == code and text in outcome.message, outcome

    [voided_sign] = await raw.push([_sign(raw.seq(), docs["order"], image=image)])
    refused(voided_sign, "state_conflict", "已作废")
    [other_case] = await raw.push([_sign(raw.seq(), docs["measures"], image=image, inspection_id=uuid.uuid4())])
    refused(other_case, "unknown_reference", "不属于本检查")
    [changed] = await raw.push([_sign(raw.seq(), docs["measures"], image=image, document_sha256="0" * 64)])
    refused(changed, "state_conflict", "不一致")
    [second] = await raw.push([_sign(raw.seq(), docs["record"], image=image)])
    refused(second, "duplicate", "已由当事人签收")
    [not_on_site] = await raw.push([_sign(raw.seq(), docs["notice"], image=image)])
    refused(not_on_site, "invalid_input", "不在现场签收")

    # idempotent: the same signature pushed again (a lost answer, a new seq) is applied once
    first = _sign(raw.seq(), docs["measures"], image=image)
    again = SignDocument(**{**{f: getattr(first, f) for f in first.__struct_fields__}, "seq": raw.seq()})
    outcomes = await raw.push([first, again])
    assert [type(o) for o in outcomes] == [wire.Applied, wire.Applied], outcomes
    assert await DocumentSignature.count().where(DocumentSignature.document == uuid.UUID(docs["measures"]["id"])) == 1
    waiting = await client.get(f"/api/v1/documents/{docs['measures']['id']}/signed-copy", headers=supervisor)
    assert waiting.status_code == 409 and "尚未上传完成" in waiting.json()["message"], waiting.text  # no image yet

    # a correction supersedes the measures decision: the old one cannot be signed any more, and says by which
    correction = await case.issued(type="on_site_measures", action_id=case.suspension_id, supersedes_id=docs["measures"]["id"],
                                    correction_reason="停产范围写错，更正")
    [superseded] = await raw.push([_sign(raw.seq(), docs["measures"], image=image)])
    refused(superseded, "state_conflict", correction["number"])
    fresh = correction

    # someone not on the team (nor seeing the check) cannot sign it, and learns nothing about it
    outsider = await make_phone(client, case.inspectors[2])
    [hidden] = await outsider.push([_sign(outsider.seq(), fresh, image=image)])
    refused(hidden, "not_found", "文书不存在")
    assert (await client.get(f"/api/v1/documents/{fresh['id']}/pdf", headers=outsider.headers)).status_code == 404
    assert (await client.get(f"/api/v1/documents/{docs['record']['id']}/signed-copy",
                             headers=outsider.headers)).status_code == 404
    assert all(e[0] != "document" for e in (await outsider.pull_all())[0])


async def test_on_site_documents_signed_on_the_phone_on_postgresql(client, app, tmp_path):
    await _sign_on_the_phone(client, app, tmp_path)


@pytest.mark.sqlite
async def test_on_site_documents_signed_on_the_phone_on_sqlite(client, sqlite_app, tmp_path):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sqlite_app), base_url="http://fieldcheck.test") as c:
        await _sign_on_the_phone(c, sqlite_app, tmp_path)
