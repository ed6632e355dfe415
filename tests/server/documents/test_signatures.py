"""Officers' signatures: judged by content and size, recorded through the console page, hash-checked when read,
embedded in the documents that carry officers' signatures; an officer without one is named plainly."""

from __future__ import annotations

import base64
import hashlib
import io
import re
import subprocess

import httpx
import pytest
from PIL import Image, ImageDraw

from server.documents import signatures
from server.documents.tables import OfficerSignature
from server.errors import FieldcheckError, Unavailable
from tests.conftest import PASSWORD, username_of
from tests.server.documents import pdftext
from tests.server.documents.factories import OFFICER_NAMES, make_case
from tests.server.evidence.images import photo
from tests.server.sync.conftest import sqlite_app  # noqa: F401  (fixture)

LIMIT = 512 * 1024


def handwriting(size: tuple[int, int] = (480, 160), *, ink: bool = True, mode: str = "RGBA") -> bytes:
    picture = Image.new(mode, size, (255, 255, 255, 0) if mode == "RGBA" else "white")
    if ink:
        draw = ImageDraw.Draw(picture)
        draw.line([(20, 120), (90, 30), (150, 130), (230, 40), (320, 120), (420, 60)], fill=(16, 33, 63, 255), width=5)
    out = io.BytesIO()
    picture.save(out, format="PNG")
    return out.getvalue()


def test_a_signature_is_judged_by_its_content():
    png, width, height = signatures.normalized_png(handwriting(), LIMIT)
    assert png.startswith(signatures.PNG_MAGIC) and (width, height) == (480, 160)
    refusals = {
        "jpeg": photo("JPEG", (480, 160)),  # named .png or not, the bytes are a JPEG
        "blank": handwriting(ink=False),
        "white": handwriting(ink=False, mode="RGB"),
        "tiny": handwriting((30, 10)),
        "huge": handwriting((2400, 400)),
        "broken": handwriting()[:200],
    }
    for name, data in refusals.items():
        with pytest.raises(FieldcheckError) as refused:
            signatures.normalized_png(data, LIMIT)
        assert refused.value.status in (413, 415, 422), name
    with pytest.raises(FieldcheckError) as too_big:
        signatures.normalized_png(handwriting(), 1000)
    assert too_big.value.status == 413
    with pytest.raises(FieldcheckError):
        signatures.from_data_url("data:image/jpeg;base64,AAAA", LIMIT)
    assert signatures.from_data_url("data:image/png;base64," + base64.b64encode(b"x").decode(), LIMIT) == b"x"


class _Tampered:
    """A store whose every object came back changed by one byte."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    async def get(self, key: str) -> bytes:
        return self.data[:-1] + bytes([self.data[-1] ^ 1])


async def test_a_changed_stored_signature_is_refused_not_printed():
    png, _, _ = signatures.normalized_png(handwriting(), LIMIT)
    row = {"object_key": "signatures/x", "sha256": hashlib.sha256(png).hexdigest(), "officer": "someone"}
    with pytest.raises(Unavailable):
        await signatures._checked(_Tampered(png), row)


async def console_as(client: httpx.AsyncClient, user_id) -> dict[str, str]:
    client.cookies.clear()
    answer = await client.post("/console/login", data={"username": await username_of(user_id), "password": PASSWORD})
    assert answer.status_code == 303, answer.text
    token = re.search(r'"X-CSRF-Token": "([^"]+)"', (await client.get("/console")).text).group(1)
    return {"x-csrf-token": token, "hx-request": "true"}


async def signatures_on_documents(client: httpx.AsyncClient, app, tmp_path) -> None:
    case = await make_case(client, app, tmp_path, n_items=2, n_photos=1)
    lead, second = case.inspectors[0], case.inspectors[1]
    post = await console_as(client, lead)
    page = await client.get("/console/signature")
    assert page.status_code == 200 and "尚未登记签名" in page.text
    assert (await client.get("/console/signature/image")).status_code == 404
    not_png = await client.post("/console/signature", headers=post, files={"file": ("sig.png", photo("JPEG", (480, 160)), "image/png")})
    assert not_png.status_code == 415, not_png.text
    drawn = handwriting()
    saved = await client.post("/console/signature", headers=post, files={"file": ("sig.png", drawn, "image/png")})
    assert saved.status_code == 200 and saved.headers["hx-redirect"] == "/console/signature", saved.text
    row = await OfficerSignature.select().where(OfficerSignature.officer == lead).first()
    back = await client.get("/console/signature/image")
    assert back.headers["content-type"] == "image/png" and hashlib.sha256(back.content).hexdigest() == row["sha256"]
    assert "已登记的签名" in (await client.get("/console/signature")).text and "尚未登记签名。" not in (await client.get("/console/signature")).text
    # drawn on the pad: the data URL the page's script sends
    again = await client.post("/console/signature", headers=post, files={
        "drawn": (None, "data:image/png;base64," + base64.b64encode(handwriting((400, 120))).decode())})
    assert again.status_code == 200, again.text
    assert (await OfficerSignature.count().where(OfficerSignature.officer == lead)) == 1  # replaced, one per officer
    await console_as(client, case.leader_id)
    assert (await client.get("/console/signature")).status_code == 403

    record = await case.issued(lead, type="inspection_record", inspection_id=case.inspection_id)
    pdf = await case.pdf(record["id"])
    text = pdftext.flat(pdftext.text(pdf))
    assert f"{OFFICER_NAMES[1]}签发时尚未登记签名图片" in text  # the second officer has none: said plainly
    assert f"{OFFICER_NAMES[0]}签发时尚未登记签名图片" not in text and f"执法人员：{OFFICER_NAMES[0]}" in text
    listed = subprocess.run(["pdfimages", "-list", "-"], input=pdf, capture_output=True, timeout=60)
    if listed.returncode != 0:  # older poppler reads no stdin
        (tmp_path / "record.pdf").write_bytes(pdf)
        listed = subprocess.run(["pdfimages", "-list", str(tmp_path / "record.pdf")], capture_output=True, timeout=60, check=True)
    sizes = {tuple(line.split()[3:5]) for line in listed.stdout.decode().splitlines()[2:]}
    assert ("400", "120") in sizes, sizes  # the officer's signature is embedded at its own size
    pdftext.first_page_png(pdf, "inspection-record-officer-signature")
    # a penalty notice bears the seal, not the officers' own signatures
    notice = await case.issued(type="penalty_notice", action_id=case.fine_id)
    assert "签发时尚未登记签名图片" not in pdftext.flat(pdftext.text(await case.pdf(notice["id"])))
    client.cookies.clear()


async def test_signatures_on_documents(client, app, tmp_path):
    await signatures_on_documents(client, app, tmp_path)


@pytest.mark.sqlite
async def test_signatures_on_documents_embedded(client, sqlite_app, tmp_path):  # noqa: F811
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sqlite_app), base_url="http://fieldcheck.test") as c:
        await signatures_on_documents(c, sqlite_app, tmp_path)


async def test_an_officer_records_a_signature_through_the_api(client, app, tmp_path):
    from tests.conftest import login, make_user
    from schemas.vocab import Role

    inspector, leader = await make_user(Role.INSPECTOR), await make_user(Role.LEADER)
    mine = await login(client, await username_of(inspector))
    path = "/api/v1/officers/me/signature/"
    assert (await client.get(path, headers=mine)).status_code == 404
    png = {**mine, "content-type": "image/png"}
    assert (await client.put(path, content=photo("JPEG", (480, 160)), headers=png)).status_code == 415
    assert (await client.put(path, content=b"\x89PNG\r\n\x1a\n" + b"0" * LIMIT, headers=png)).status_code == 413
    assert (await client.put(path, content=handwriting(), headers={**await login(client, await username_of(leader)),
                                                                   "content-type": "image/png"})).status_code == 403
    saved = await client.put(path, content=handwriting(), headers=png)
    assert saved.status_code == 200, saved.text
    image = await client.get(path + "image", headers=mine)
    assert image.headers["content-type"] == "image/png" and hashlib.sha256(image.content).hexdigest() == saved.json()["sha256"]
    assert (await client.get(path, headers=mine)).json()["sha256"] == saved.json()["sha256"]
