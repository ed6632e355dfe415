"""The README's configuration table is the one the settings generate; its quick start is two commands.

Regenerate the table with ``python -m tests.test_readme --write``.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

from server.settings import iter_documented_settings

README = Path(__file__).resolve().parent.parent / "README.md"
BEGIN, END = "<!-- settings-table:begin -->", "<!-- settings-table:end -->"


def _default(value: Any) -> str:
    if isinstance(value, Path) and value.is_absolute() and value.is_relative_to(README.parent):
        value = value.relative_to(README.parent)  # the same on every clone
    if isinstance(value, bool):
        return "`true`" if value else "`false`"
    text = str(value)
    return f"`{text}`" if text else "（空 / empty）"


def render_table() -> str:
    rows = ["| 组 group | 变量 variable | 默认值 default | 说明 description |", "|---|---|---|---|"]
    for group, env, default, doc in iter_documented_settings():
        rows.append(f"| {group} | `{env}` | {_default(default)} | {doc.replace('|', '/')} |")
    return "\n".join(rows)


def _with_table(text: str) -> str:
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    return text[:start] + "\n" + render_table() + "\n" + text[end:]


def test_configuration_table_is_up_to_date():
    text = README.read_text()
    assert BEGIN in text and END in text
    assert text == _with_table(text), "README configuration table is stale: run `python -m tests.test_readme --write`"
    documented = set(re.findall(r"\| `([A-Z0-9_]+)` \|", text))
    assert documented == {env for _, env, _, _ in iter_documented_settings()}


def test_quick_start_is_exactly_two_commands_that_the_makefile_has():
    text = README.read_text()
    section = text.split("## 快速开始 / Quick start", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
    commands = [line.split("#", 1)[0].strip() for line in block.splitlines() if line.split("#", 1)[0].strip()]
    assert commands == ["make serve", "make test"]
    makefile = (README.parent / "Makefile").read_text()
    for target in ("serve", "test"):
        assert re.search(rf"^{target}: \$\(STAMP\) \$\(WEB_STAMP\)( browser-deps)?( document-deps)?$", makefile, re.M), target
    assert "timeout 1800" in makefile and "pip install -q -e '.[test]'" in makefile


if __name__ == "__main__":
    if "--write" in sys.argv:
        README.write_text(_with_table(README.read_text()))
        print(f"updated {README}")
    else:
        print(render_table())
