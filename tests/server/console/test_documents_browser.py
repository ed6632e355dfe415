"""In a real browser: an officer draws a signature on the pad, a supervisor issues the on-site record from the
check's page and opens its PDF to print; the PDF the browser receives is the issued one, signature embedded."""

from __future__ import annotations

import hashlib

from tests.browser import OUTPUT
from tests.conftest import username_of
from tests.server.console.browser import Console, chromium, console, console_url  # noqa: F401 (fixtures)
from tests.server.documents import pdftext
from tests.server.documents.factories import OFFICER_NAMES, make_case
from server.documents.tables import Document, OfficerSignature


async def test_draw_a_signature_issue_and_open_the_pdf_to_print(client, app, tmp_path, console: Console) -> None:  # noqa: F811
    case = await make_case(client, app, tmp_path, n_items=3, n_photos=1)
    lead = case.inspectors[0]

    await console.login(await username_of(lead))
    await console.open("/console/signature")
    assert await console.page.locator("#no-signature").count() == 1
    box = await console.page.locator("#signature-canvas").bounding_box()
    mouse = console.page.mouse
    await mouse.move(box["x"] + 30, box["y"] + 110)
    await mouse.down()
    for x, y in ((80, 40), (130, 120), (190, 50), (250, 115), (320, 45), (420, 100)):
        await mouse.move(box["x"] + x, box["y"] + y, steps=8)
    await mouse.up()
    await console.page.click("#signature-submit")
    await console.page.wait_for_selector("#signature-image")
    await console.shot("console-signature.png")
    row = await OfficerSignature.select().where(OfficerSignature.officer == lead).first()
    assert row is not None and row["width"] >= 400  # the pad's drawing, as the page sent it
    await console.logout()

    await console.login(await username_of(case.supervisor_id))
    await console.open(f"/console/inspections/{case.inspection_id}")
    await console.page.click("li[data-type=inspection_record] button[type=submit]")
    await console.page.wait_for_selector("#document-list tr[data-document]")
    await console.page.locator("#documents").scroll_into_view_if_needed()
    await console.shot("console-documents.png")
    [document] = await Document.select().where(Document.inspection == case.inspection_id)
    row_text = await console.page.locator(f"tr[data-document='{document['id']}']").inner_text()
    assert document["number"] in row_text and "有效" in row_text and "现场检查记录" in row_text

    # "打开 PDF 打印" opens the PDF inline in a new tab: what the browser receives is the issued file
    context = console.page.context
    async with context.expect_event("response", lambda r: r.url.endswith(f"/console/documents/{document['id']}/pdf")) as caught:
        async with context.expect_page() as opened:
            await console.page.click(f"tr[data-document='{document['id']}'] a.open-pdf")
        tab = await opened.value
    response = await caught.value
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"].startswith("inline;")
    # Chromium hands the body to its PDF viewer; the same URL fetched with the page's own session gives the bytes
    fetched = await context.request.get(response.url)
    assert fetched.status == 200
    pdf = await fetched.body()
    assert hashlib.sha256(pdf).hexdigest() == document["sha256"] and len(pdf) == int(response.headers["content-length"])
    await tab.wait_for_timeout(1500)
    await tab.screenshot(path=str(OUTPUT / "console-pdf-tab.png"))
    await tab.close()
    text = pdftext.flat(pdftext.text(pdf))
    assert document["number"] in text and f"{OFFICER_NAMES[1]}签发时尚未登记签名图片" in text
    printed = pdftext.first_page_png(pdf, "console-printed-record")
    assert printed.exists() and (OUTPUT / "console-documents.png").exists()
    assert console.external_requests() == []
