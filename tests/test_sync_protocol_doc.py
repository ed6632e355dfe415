"""docs/sync-protocol.md and its JSON Schema stay what schemas/ generates (run the module with --write)."""

from __future__ import annotations

import json

from schemas import protocol_document
from schemas import sync as wire


def test_the_protocol_document_and_its_schema_are_current():
    assert protocol_document.stale() == [], "run: PYTHONPATH=. python -m schemas.protocol_document --write"


def test_the_schema_names_every_mutation_kind_and_record_type():
    document = json.loads(protocol_document.SCHEMA_PATH.read_text())
    defs = document["$defs"]
    for mutation in wire.MUTATION_TYPES:
        assert mutation.__name__ in defs
        assert defs[mutation.__name__]["properties"]["kind"]["enum"] == [mutation.__struct_config__.tag]
    assert set(document["messages"]) >= {"PushRequest", "PushResponse", "PullRequest", "PullResponse", "LoginRequest"}
    assert {f"record:{name}" for name in wire.RECORD_TYPES} <= set(document["messages"])
    text = protocol_document.DOC_PATH.read_text()
    assert all(f"`{m.__struct_config__.tag}`" in text for m in wire.MUTATION_TYPES)


def test_a_stale_document_is_reported(tmp_path):
    doc, schema = tmp_path / "sync-protocol.md", tmp_path / "sync-protocol.schema.json"
    doc.write_text(protocol_document.DOC_PATH.read_text().replace("`add_hazard`", "`add_hazzard`"))
    schema.write_text(protocol_document.SCHEMA_PATH.read_text())
    assert protocol_document.stale(doc, schema) == ["sync-protocol.md"]
    schema.write_text("{}")
    assert protocol_document.stale(doc, schema) == ["sync-protocol.schema.json", "sync-protocol.md"]
