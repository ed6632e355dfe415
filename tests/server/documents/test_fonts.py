"""The prepared (GB 2312) fonts are used when they hold every character, the full font otherwise; either way the
PDF's text reads back, a rare character in a name included."""

from __future__ import annotations

import datetime as dt

from schemas.documents import DocumentType
from server.documents import fonts, render
from server.documents.model import Content, Item, Officer, Party
from server.settings import DocumentSettings
from tests.server.documents import pdftext

FULL = fonts.Fonts(body=DocumentSettings().body_font, heading=DocumentSettings().heading_font)


def _content(person: str) -> Content:
    return Content(
        type=DocumentType.PENALTY_DECISION_PERSON, title="行政处罚决定书（个人）", number="（中卫）应急罚〔2026〕7号",
        issuing_body="中卫市应急管理局", issued_at="2026年12月4日",
        officers=(Officer("张明远", "64050001"), Officer("李卫东", "64050002")),
        party=Party("中卫市金沙岸化工有限公司", "91640500MA76XXXX1X", "中卫市沙坡头区", person_name=person),
        facts=("经查明：安排未持证人员作业。",), items=(Item(text="违章作业", basis="《中华人民共和国安全生产法》第九十九条"),),
        verify_url="http://127.0.0.1:8000/verify/ABCDE12345", short_code="ABCDE-12345",
    )


def test_common_text_uses_the_prepared_fonts_and_rare_text_the_full_ones():
    assert fonts.for_text(FULL, "中卫市应急管理局（中卫）应急罚〔2026〕15号—") != FULL
    assert fonts.for_text(FULL, "当事人：王䶮") == FULL


def test_a_rare_character_in_a_name_is_drawn_and_reads_back():
    for name in ("李四", "王䶮"):
        pdf = render.render(_content(name), FULL, created_at=dt.datetime(2026, 12, 4, tzinfo=dt.UTC))
        text = pdftext.flat(pdftext.text(pdf))
        assert f"当事人{name}" in text and "（中卫）应急罚〔2026〕7号" in text, name


def test_the_same_content_renders_to_the_same_bytes():
    moment = dt.datetime(2026, 12, 4, tzinfo=dt.UTC)
    assert render.render(_content("李四"), FULL, created_at=moment) == render.render(_content("李四"), FULL, created_at=moment)
