"""The public verify page (no login): a form, and what a verification found, as plain HTML.

It shows only what the paper itself shows (type, number, issuing body, time, status) and the hash to
compare; never the party, the officers or any record behind the document.
"""

from __future__ import annotations

import datetime as dt
import html
from zoneinfo import ZoneInfo

from schemas.documents import DocumentStatus, Verification
from server import localtime

_STATUS = {
    DocumentStatus.ISSUED: ("有效", "本文书由签发机关签发，现行有效。", "ok"),
    DocumentStatus.VOIDED: ("已作废", "本文书已由签发机关作废，不再具有效力（文号保留）。", "bad"),
    DocumentStatus.SUPERSEDED: ("已被更正", "本文书已被更正文书取代。", "bad"),
}

_STYLE = (
    "body{font-family:'WenQuanYi Micro Hei','Noto Sans CJK SC',sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;color:#222}"
    "h1{color:#a00;font-size:1.4rem}dl{display:grid;grid-template-columns:8rem 1fr;gap:.4rem}dt{color:#666}"
    "dd{margin:0;word-break:break-all}.ok{color:#070;font-weight:bold}.bad{color:#a00;font-weight:bold}"
    "form{margin-top:2rem;padding:1rem;border:1px solid #ccc}label{display:block;margin:.5rem 0}"
)


def _when(moment: dt.datetime | None, tz: ZoneInfo) -> str:
    if moment is None:
        return ""
    local = moment.astimezone(tz)
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"


def _form(code: str = "") -> str:
    return (
        '<form method="post" action="/verify" enctype="multipart/form-data">'
        "<h2>核验文书 / Verify a document</h2>"
        f'<label>核验码 / code <input name="code" value="{html.escape(code)}" maxlength="16"></label>'
        '<label>文书 PDF 文件（可选，核对是否与签发件完全一致）<input type="file" name="file" accept="application/pdf"></label>'
        '<button type="submit">核验</button></form>'
    )


def throttled(message: str) -> str:
    """The page saying the caller must wait (the form stays off until then)."""
    return (f"<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>执法文书核验</title><style>{_STYLE}</style></head><body>"
            f'<h1>执法文书核验</h1><p class="bad" id="verdict">{html.escape(message)}</p></body></html>')


def page(result: Verification | None, *, code: str = "", timezone: str = "Asia/Shanghai") -> str:
    tz = localtime.zone(timezone)
    parts = [f"<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>执法文书核验</title><style>{_STYLE}</style></head><body>",
             "<h1>执法文书核验</h1>"]
    if result is not None:
        if not result.found or result.matches is False:
            message = ("未找到与所提交文件完全一致的已签发文书：该文件不是签发机关签发的原件，或已被改动。"
                       if result.matches is False else "未找到该核验码对应的已签发文书。")
            parts.append(f'<p class="bad" id="verdict">未签发 / not issued</p><p>{message}</p>')
        else:
            label, text, css = _STATUS[result.status or DocumentStatus.ISSUED]
            parts.append(f'<p class="{css}" id="verdict">{label}</p><p>{html.escape(text)}</p>')
            if result.matches:
                parts.append('<p class="ok">所提交文件与签发件完全一致（SHA-256 相同）。</p>')
            rows = [("文书", result.title), ("文号", result.number), ("签发机关", result.issuing_body),
                    ("签发时间", _when(result.issued_at, tz)), ("SHA-256", result.sha256)]
            if result.voided_at:
                rows.append(("作废时间", _when(result.voided_at, tz)))
            if result.superseded_by_number:
                rows.append(("更正文书", result.superseded_by_number))
            parts.append("<dl>" + "".join(f"<dt>{k}</dt><dd>{html.escape(v)}</dd>" for k, v in rows) + "</dl>")
    parts.append(_form(code))
    parts.append("<p><small>本页只显示文书本身已载明的信息。/ This page shows nothing beyond the paper.</small></p></body></html>")
    return "".join(parts)
