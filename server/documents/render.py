"""Draw a :class:`~server.documents.model.Content` as an A4 PDF (fpdf2), fonts embedded and subset.

Headings use a Hei (sans) face and the body a Song (Ming) face, as Chinese official documents do; both
come from Debian packages (``fonts-wqy-microhei``, ``fonts-arphic-uming``), so every machine renders
the same glyphs. The QR code is drawn as vector squares (segno gives the matrix), sharp at any print
resolution. Rendering is CPU work: the service runs it in a thread.
"""

from __future__ import annotations

import ast
import datetime as dt
import io
import logging
from dataclasses import astuple
from pathlib import Path

import segno
from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.fonts import FontFace

from server.documents import fonts as prepared
from server.documents.fonts import Fonts
from server.documents.model import Content, Image

# fontTools reports each bitmap table it cannot subset (AR PL UMing carries embedded bitmaps); harmless.
logging.getLogger("fontTools.subset").setLevel(logging.ERROR)

BODY, HEADING = "song", "hei"
#: Every string literal of this module (labels, punctuation): part of what the chosen fonts must hold.
_LABELS = "".join(
    node.value for node in ast.walk(ast.parse(Path(__file__).read_text(encoding="utf-8")))
    if isinstance(node, ast.Constant) and isinstance(node.value, str)
)
LINE = 6.5
MARGIN = 20.0


class _Page(FPDF):
    def __init__(self, content: Content, fonts: Fonts) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.content = content
        self.set_margins(MARGIN, MARGIN, MARGIN)
        self.set_auto_page_break(True, margin=22)
        self.add_font(BODY, fname=fonts.body)
        self.add_font(HEADING, fname=fonts.heading)
        self.alias_nb_pages("{nb}")

    def footer(self) -> None:
        self.set_y(-15)
        self.set_font(BODY, size=9)
        c = self.content
        self.cell(0, 5, f"{c.number}　第 {self.page_no()} 页 / 共 {{nb}} 页　核验码 {c.short_code}", align="C")


def _qr(pdf: FPDF, url: str, x: float, y: float, size: float) -> None:
    code = segno.make(url, error="m")
    matrix = code.matrix
    module = size / len(matrix)
    pdf.set_fill_color(0, 0, 0)
    for r, row in enumerate(matrix):
        for c, dark in enumerate(row):
            if dark:
                pdf.rect(x + c * module, y + r * module, module, module, style="F")


def _heading(pdf: FPDF, text: str) -> None:
    pdf.ln(2)
    pdf.set_font(HEADING, size=12)
    pdf.multi_cell(0, LINE + 1, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(BODY, size=11)


def _para(pdf: FPDF, text: str, *, indent: bool = True) -> None:
    pdf.set_font(BODY, size=11)
    pdf.multi_cell(0, LINE, ("　　" if indent else "") + text, align="L", wrapmode="CHAR", new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _image(pdf: FPDF, image: Image, width: float, max_height: float) -> None:
    if not image.data:
        return
    info = pdf.image(io.BytesIO(image.data), w=width, keep_aspect_ratio=True, h=max_height, x=pdf.l_margin)
    pdf.set_y(pdf.get_y() + 1)
    del info


def _masthead(pdf: _Page, c: Content) -> None:
    top = pdf.get_y()
    qr_size = 24.0
    _qr(pdf, c.verify_url, pdf.w - MARGIN - qr_size, top - 6, qr_size)
    pdf.set_font(BODY, size=7)
    pdf.set_xy(pdf.w - MARGIN - qr_size - 6, top + qr_size - 6)
    pdf.cell(qr_size + 6, 3.5, f"核验码 {c.short_code}", align="C")
    pdf.set_xy(MARGIN, top + 2)
    pdf.set_font(HEADING, size=20)
    pdf.set_text_color(170, 0, 0)
    pdf.cell(0, 11, c.issuing_body, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(0, 0, 0)
    pdf.set_font(HEADING, size=18)
    pdf.cell(0, 11, c.title, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(BODY, size=12)
    pdf.cell(0, 8, c.number, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if c.supersedes_number:
        pdf.set_font(BODY, size=10)
        pdf.cell(0, 6, f"（本文书更正并取代 {c.supersedes_number}）", align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_draw_color(170, 0, 0)
    pdf.set_line_width(0.6)
    y = pdf.get_y() + 2
    pdf.line(MARGIN, y, pdf.w - MARGIN, y)
    pdf.set_draw_color(0, 0, 0)
    pdf.set_line_width(0.2)
    pdf.set_y(y + 3)


def _party(pdf: FPDF, c: Content) -> None:
    p = c.party
    rows = [("被检查单位" if not p.person_name else "当事人单位", p.enterprise_name),
            ("统一社会信用代码", p.credit_code), ("地址", p.address)]
    if p.contact:
        rows.append(("联系人", p.contact))
    if p.person_name:
        rows += [("当事人", p.person_name), ("身份证号码", p.person_id_masked), ("岗位", p.person_post or "—")]
    label_w = 38.0
    pdf.set_font(BODY, size=11)
    for label, value in rows:
        x, y = pdf.get_x(), pdf.get_y()
        pdf.set_font(HEADING, size=10.5)
        pdf.multi_cell(label_w, LINE, label, border=1, new_x=XPos.RIGHT, new_y=YPos.TOP)
        pdf.set_font(BODY, size=11)
        pdf.multi_cell(0, LINE, value, border=1, align="L", wrapmode="CHAR", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        del x, y
    officers = "；".join(f"{o.name}（执法证号 {o.badge_number}）" for o in c.officers)
    pdf.set_font(HEADING, size=10.5)
    pdf.multi_cell(label_w, LINE, "执法人员", border=1, new_x=XPos.RIGHT, new_y=YPos.TOP)
    pdf.set_font(BODY, size=11)
    pdf.multi_cell(0, LINE, officers, border=1, align="L", wrapmode="CHAR", new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _items(pdf: FPDF, c: Content) -> None:
    label = c.heading_labels.get("items", "检查情况")
    _heading(pdf, label)
    for n, item in enumerate(c.items, start=1):
        pdf.set_font(BODY, size=11)
        line = f"{n}. {item.text}"
        if item.result:
            line += f"【{item.result}】"
        pdf.multi_cell(0, LINE, line, align="L", wrapmode="CHAR", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_font(BODY, size=10)
        details = []
        if item.note:
            details.append(f"情况：{item.note}")
        details.append(f"依据：{item.basis or '—'}")
        if item.deadline:
            details.append(f"整改期限：{item.deadline}")
        for d in details:
            pdf.set_x(MARGIN + 6)
            pdf.multi_cell(0, LINE - 0.5, d, align="L", wrapmode="CHAR", new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _signatures(pdf: FPDF, c: Content) -> None:
    _heading(pdf, "签名")
    pdf.set_font(BODY, size=11)
    for o in c.officers:
        pdf.multi_cell(0, LINE, f"执法人员：{o.name}　　执法证号：{o.badge_number}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        if not c.officer_signatures:
            continue
        if o.signature:
            if pdf.get_y() > pdf.h - 50:
                pdf.add_page()
            _image(pdf, Image(data=o.signature, caption=o.name), 40, 16)
        else:
            pdf.set_font(BODY, size=10)
            pdf.multi_cell(0, LINE, f"（{o.name}签发时尚未登记签名图片，本文书未附其签名）", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            pdf.set_font(BODY, size=11)
    for s in c.signatures:
        if pdf.get_y() > pdf.h - 60:
            pdf.add_page()
        pdf.multi_cell(0, LINE, f"{s.caption}（签名时间 {s.captured_at}）", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        _image(pdf, s, 50, 22)
    pdf.ln(4)
    pdf.set_font(BODY, size=11)
    pdf.cell(0, LINE, f"{c.issuing_body}（印章）", align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.cell(0, LINE, c.issued_at, align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _annex(pdf: FPDF, c: Content) -> None:
    pdf.add_page()
    _heading(pdf, f"附件：现场照片（共 {len(c.photos)} 张）")
    for n, photo in enumerate(c.photos, start=1):
        if pdf.get_y() > pdf.h - 112:
            pdf.add_page()
        _image(pdf, photo, 80, 60)
        pdf.set_font(BODY, size=9.5)
        for line in (f"照片 {n}：{photo.caption or '（无说明）'}", f"拍摄时间：{photo.captured_at}",
                     f"拍摄地点：{photo.place or '未记录'}", f"SHA-256：{photo.sha256}"):
            pdf.multi_cell(0, 5, line, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(2)


def _all_text(content: Content) -> str:
    """Every character the page may draw: the content's strings and this module's own labels."""
    parts: list[str] = [_LABELS]

    def walk(value: object) -> None:
        if isinstance(value, str):
            parts.append(value)
        elif isinstance(value, (tuple, list)):
            for v in value:
                walk(v)
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif hasattr(value, "__dataclass_fields__"):
            walk(astuple(value))

    walk(content)
    return "".join(parts)


def render(content: Content, fonts: Fonts, *, created_at: dt.datetime) -> bytes:
    """The PDF bytes of ``content``; ``created_at`` is its creation date, so a render is reproducible."""
    pdf = _Page(content, prepared.for_text(fonts, _all_text(content)))
    pdf.set_creation_date(created_at)
    pdf.set_title(f"{content.title} {content.number}")
    pdf.set_author(content.issuing_body)
    pdf.set_creator("fieldcheck")
    pdf.add_page()
    _masthead(pdf, content)
    _party(pdf, content)
    if content.facts:
        _heading(pdf, content.heading_labels.get("facts", "基本情况"))
        for paragraph in content.facts:
            _para(pdf, paragraph)
    if content.items:
        _items(pdf, content)
    if content.decision:
        _heading(pdf, content.heading_labels.get("decision", "处理决定"))
        for paragraph in content.decision:
            _para(pdf, paragraph)
    if content.rights:
        _heading(pdf, "当事人权利")
        for paragraph in content.rights:
            _para(pdf, paragraph)
    _signatures(pdf, content)
    _para(pdf, f"核验：扫描二维码或访问 {content.verify_url}，输入核验码 {content.short_code}，"
               "可查验本文书是否由本机关签发、是否有效。", indent=False)
    if content.photos:
        _annex(pdf, content)
    return bytes(pdf.output())


class _Sheet(FPDF):
    def __init__(self, fonts: Fonts) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.set_margins(MARGIN, MARGIN, MARGIN)
        self.set_auto_page_break(True, margin=20)
        self.add_font(BODY, fname=fonts.body)
        self.add_font(HEADING, fname=fonts.heading)


def render_sheet(
    title: str, fields: list[tuple[str, str]], table: list[tuple[str, ...]], widths: tuple[float, ...], fonts: Fonts,
    *, created_at: dt.datetime,
) -> bytes:
    """A one-table sheet: the case file's cover (卷宗首页: fields) and table of contents (卷内目录: table, first row heads)."""
    text = title + "".join(a + b for a, b in fields) + "".join("".join(r) for r in table)
    pdf = _Sheet(prepared.for_text(fonts, text + _LABELS))
    pdf.set_creation_date(created_at)
    pdf.add_page()
    pdf.set_font(HEADING, size=20)
    pdf.cell(0, 16, title, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(4)
    for label, value in fields:
        pdf.set_font(HEADING, size=11)
        pdf.multi_cell(40, LINE + 1, label, border=1, new_x=XPos.RIGHT, new_y=YPos.TOP)
        pdf.set_font(BODY, size=11)
        pdf.multi_cell(0, LINE + 1, value, border=1, align="L", wrapmode="CHAR", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if table:
        pdf.set_font(BODY, size=10)
        heads = FontFace(family=HEADING, emphasis="", fill_color=(235, 235, 235))
        with pdf.table(col_widths=widths, text_align="LEFT", line_height=LINE, wrapmode="CHAR", headings_style=heads) as grid:
            for row in table:
                cells = grid.row()
                for value in row:
                    cells.cell(value)
    return bytes(pdf.output())
