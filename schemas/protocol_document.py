"""The JSON Schema of the sync protocol's wire types, as msgspec generates it, for docs/sync-protocol.md.

``python -m schemas.protocol_document --write`` regenerates ``docs/sync-protocol.schema.json`` and the
generated tables in ``docs/sync-protocol.md``; ``tests/test_sync_protocol_doc.py`` fails while either is stale.
Pure msgspec, like the rest of ``schemas/``: the document is derived from the types both clients use.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import msgspec

from schemas import accounts, evidence, problems
from schemas import sync as wire

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_PATH = ROOT / "docs" / "sync-protocol.schema.json"
DOC_PATH = ROOT / "docs" / "sync-protocol.md"
BEGIN, END = "<!-- generated: mutation and record tables -->", "<!-- end generated -->"


class PushRequest(wire.PushRequest, kw_only=True):
    """A batch of mutations from one device, oldest first (each one of the kinds of ``AnyMutation``)."""

    mutations: Annotated[list[wire.AnyMutation], msgspec.Meta(max_length=wire.MAX_PUSH_MUTATIONS)]


#: Every message a client sends or reads, by the name the document uses.
MESSAGES: dict[str, Any] = {
    "LoginRequest": accounts.LoginRequest,
    "RefreshRequest": accounts.RefreshRequest,
    "TokenPair": accounts.TokenPair,
    "PushRequest": PushRequest,
    "PushResponse": wire.PushResponse,
    "PullRequest": wire.PullRequest,
    "PullResponse": wire.PullResponse,
    "UploadCreate": evidence.UploadCreate,
    "UploadSession": evidence.UploadSession,
    "Problem": problems.Problem,
    **{f"record:{name}": struct for name, struct in wire.RECORD_TYPES.items()},
}


def schema() -> dict[str, Any]:
    """One JSON Schema document: ``messages`` names each message's schema, ``$defs`` holds them all."""
    names = list(MESSAGES)
    refs, components = msgspec.json.schema_components([MESSAGES[n] for n in names], ref_template="#/$defs/{name}")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "fieldcheck sync protocol",
        "description": f"protocol version {wire.PROTOCOL_VERSION}; see docs/sync-protocol.md",
        "messages": dict(zip(names, refs, strict=True)),
        "$defs": components,
    }


def schema_text() -> str:
    return json.dumps(schema(), ensure_ascii=False, indent=1, sort_keys=True) + "\n"


def tables() -> str:
    """The generated part of the document: every mutation kind and every pulled record type."""
    lines = ["| mutation `kind` | struct | what it does |", "|---|---|---|"]
    for mutation in wire.MUTATION_TYPES:
        tag = mutation.__struct_config__.tag
        summary = (mutation.__doc__ or "").strip().splitlines()[0]
        lines.append(f"| `{tag}` | `{mutation.__module__}.{mutation.__name__}` | {summary} |")
    lines += ["", "| pulled `entity_type` | record struct |", "|---|---|"]
    for name, struct in wire.RECORD_TYPES.items():
        lines.append(f"| `{name}` | `{struct.__module__}.{struct.__name__}` |")
    return "\n".join(lines)


def document(current: str) -> str:
    """``current`` with the generated tables replaced."""
    head, rest = current.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{tables()}\n{END}{tail}"


def stale(doc_path: Path = DOC_PATH, schema_path: Path = SCHEMA_PATH) -> list[str]:
    """The files that differ from what the types generate."""
    wanted = ((schema_path, schema_text()), (doc_path, document(doc_path.read_text())))
    return [p.name for p, want in wanted if not p.exists() or p.read_text() != want]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="rewrite the schema file and the document's tables")
    args = parser.parse_args(argv)
    if args.write:
        SCHEMA_PATH.write_text(schema_text())
        DOC_PATH.write_text(document(DOC_PATH.read_text()))
        return 0
    found = stale()
    print("stale: " + ", ".join(found) if found else "current")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
