"""The phone's SQLite replica and outbox, without a server."""

from __future__ import annotations

import uuid

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.inspections import AddNote, RecordItemResult
from sync_client._store import Store


def _note(seq: int, inspection_id: uuid.UUID) -> AddNote:
    import datetime as dt

    return AddNote(seq=seq, id=uuid.uuid4(), inspection_id=inspection_id, text="笔记", created_at=dt.datetime.now(dt.UTC))


def test_enqueue_numbers_mutations_and_survives_reopen(tmp_path):
    path = tmp_path / "phone.sqlite3"
    store = Store(path)
    device = store.device_id
    inspection = uuid.uuid4()
    seqs = [store.enqueue(lambda s: _note(s, inspection), entity_type="inspection", entity_id=inspection) for _ in range(3)]
    store.close()  # as if the process were killed after the calls returned

    reopened = Store(path)
    assert reopened.device_id == device
    assert seqs == [1, 2, 3]
    pending = reopened.pending()
    assert [e.seq for e in pending] == [1, 2, 3]
    decoded = msgspec.msgpack.decode(pending[0].payload, type=AddNote)
    assert decoded.seq == 1 and decoded.inspection_id == inspection
    assert reopened.enqueue(lambda s: _note(s, inspection), entity_type="inspection", entity_id=inspection) == 4


def test_failed_local_write_leaves_neither_outbox_entry_nor_local_view(tmp_path):
    store = Store(tmp_path / "p.sqlite3")
    inspection = uuid.uuid4()

    def overlays(seq):
        yield ("inspection", inspection, {"id": str(inspection)})
        raise ValueError("disk says no")

    with pytest.raises(ValueError):
        store.enqueue(lambda s: _note(s, inspection), entity_type="inspection", entity_id=inspection, overlays=overlays)
    assert store.pending() == []
    assert store.record("inspection", inspection) is None
    # the seq was not consumed either
    assert store.enqueue(lambda s: _note(s, inspection), entity_type="inspection", entity_id=inspection) == 1


def test_settle_keeps_rejections_and_ignores_duplicate_answers(tmp_path):
    store = Store(tmp_path / "p.sqlite3")
    inspection = uuid.uuid4()
    for _ in range(2):
        store.enqueue(lambda s: _note(s, inspection), entity_type="inspection", entity_id=inspection)
    answers = [(1, "applied", "", "", None, None), (2, "rejected", "not_found", "记录不存在", "inspection_id", None)]
    assert store.settle(answers) == 2
    assert store.settle(answers) == 0  # the same response delivered twice changes nothing
    assert store.pending() == []
    [kept] = store.outcomes()
    assert (kept.seq, kept.outcome, kept.code, kept.field) == (2, "rejected", "not_found", "inspection_id")


def test_local_view_overrides_server_state_until_a_complete_pull_after_the_answer(tmp_path):
    store = Store(tmp_path / "p.sqlite3")
    result_id, inspection, item = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    server = {"id": str(result_id), "outcome": "pass", "version": 1}
    store.apply_page([("inspection:" + str(inspection), "item_result", str(result_id), 5, msgspec.msgpack.encode(server))], [], {}, [])
    seq = store.enqueue(
        lambda s: RecordItemResult(seq=s, id=result_id, inspection_id=inspection, item_id=item, base_version=1, outcome="fail"),
        entity_type="item_result",
        entity_id=result_id,
        overlays=lambda s: [("item_result", result_id, {**server, "outcome": "fail"})],
    )
    assert store.record("item_result", result_id)["outcome"] == "fail"
    assert store.server_record("item_result", result_id)["outcome"] == "pass"
    store.finish_pull()  # not answered yet: the local view stays
    assert store.record("item_result", result_id)["outcome"] == "fail"
    store.settle([(seq, "applied", "", "", None, None)])
    store.apply_page([("inspection:" + str(inspection), "item_result", str(result_id), 9,
                       msgspec.msgpack.encode({**server, "outcome": "fail", "version": 2}))], [], {}, [])
    store.finish_pull()
    assert store.records("item_result") == [{**server, "outcome": "fail", "version": 2}]


def test_an_older_state_never_overwrites_a_newer_one(tmp_path):
    store = Store(tmp_path / "p.sqlite3")
    rid = str(uuid.uuid4())
    store.apply_page([("a:" + rid, "x", rid, 7, msgspec.msgpack.encode({"v": 2}))], [], {}, [])
    store.apply_page([("b:" + rid, "x", rid, 3, msgspec.msgpack.encode({"v": 1}))], [], {}, [])
    assert store.record("x", rid) == {"v": 2}


scope_names = st.sampled_from(["user:1", "inspection:2", "enterprise:3"])
entity_ids = st.sampled_from(["e1", "e2", "e3"])
steps = st.lists(
    st.one_of(
        st.tuples(st.just("put"), scope_names, entity_ids),
        st.tuples(st.just("remove"), scope_names, entity_ids),
        st.tuples(st.just("drop"), scope_names, st.just("")),
        st.tuples(st.just("queue"), st.just(""), entity_ids),
        st.tuples(st.just("answer"), st.just(""), st.just("")),
    ),
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(steps=steps)
def test_a_record_stays_exactly_while_a_scope_holds_it_or_a_queued_write_needs_it(tmp_path_factory, steps):
    store = Store(tmp_path_factory.mktemp("s") / "p.sqlite3")
    held: set[tuple[str, str]] = set()  # (scope, entity)
    pending: list[str] = []
    known: set[str] = set()
    seq = 0
    for op, scope, entity in steps:
        seq += 1
        if op == "put":
            store.apply_page([(scope, "x", entity, seq, msgspec.msgpack.encode({"id": entity}))], [], {scope: seq}, [])
            held.add((scope, entity))
            known.add(entity)
        elif op == "remove":
            store.apply_page([], [(scope, "x", entity)], {scope: seq}, [])
            held.discard((scope, entity))
        elif op == "drop":
            store.apply_page([], [], {}, [scope])
            held = {(s, e) for s, e in held if s != scope}
        elif op == "queue":
            store.enqueue(lambda s: _note(s, uuid.uuid4()), entity_type="x", entity_id=entity)  # type: ignore[arg-type]
            pending.append(entity)
        else:
            store.settle([(e.seq, "applied", "", "", None, None) for e in store.pending()])
            pending.clear()
            store.finish_pull()
        alive = {e for _, e in held}
        # a record not in any scope survives only while a queued mutation names it
        expected = {e for e in known if e in alive or e in pending}
        known = expected | alive
        assert {r["id"] for r in store.records("x")} == expected


def test_a_killed_process_loses_no_acknowledged_write(tmp_path):
    """kill -9 a process that records notes as fast as it can: every note it acknowledged is in the outbox."""
    import os
    import signal
    import subprocess
    import sys
    import textwrap
    import time
    from pathlib import Path

    path = tmp_path / "phone.sqlite3"
    script = textwrap.dedent(f"""
        import datetime as dt, sys, uuid
        sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r})
        from schemas.inspections import AddNote
        from sync_client._store import Store
        store = Store({str(path)!r})
        inspection = uuid.uuid4()
        while True:
            seq = store.enqueue(
                lambda s: AddNote(seq=s, id=uuid.uuid4(), inspection_id=inspection, text="记录", created_at=dt.datetime.now(dt.UTC)),
                entity_type="inspection", entity_id=inspection,
            )
            print(seq, flush=True)
    """)
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    acknowledged = 0
    deadline = time.monotonic() + 30
    while acknowledged < 40 and time.monotonic() < deadline:
        line = child.stdout.readline()
        if line:
            acknowledged = int(line)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert acknowledged >= 40
    store = Store(path)
    seqs = [e.seq for e in store.pending(10_000)]
    assert seqs[:acknowledged] == list(range(1, acknowledged + 1))  # contiguous, none lost
    assert store.enqueue(lambda s: _note(s, uuid.uuid4()), entity_type="x", entity_id=uuid.uuid4()) == len(seqs) + 1


def test_a_database_from_an_older_build_gets_the_new_columns(tmp_path):
    import sqlite3

    path = tmp_path / "old.sqlite3"
    old = sqlite3.connect(path)
    old.executescript(
        "CREATE TABLE outbox (seq INTEGER PRIMARY KEY, kind TEXT NOT NULL, entity_type TEXT NOT NULL, "
        "entity_id TEXT NOT NULL, payload BLOB NOT NULL, created_at TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0);"
        "CREATE TABLE outcome (seq INTEGER PRIMARY KEY, kind TEXT NOT NULL, outcome TEXT NOT NULL, code TEXT NOT NULL "
        "DEFAULT '', message TEXT NOT NULL DEFAULT '', field TEXT, detail BLOB, at TEXT NOT NULL);"
    )
    old.commit()
    old.close()
    store = Store(path)
    inspection = uuid.uuid4()
    store.enqueue(lambda s: _note(s, inspection), entity_type="inspection", entity_id=inspection)
    store.settle([(1, "rejected", "not_found", "检查记录不存在", None, None)])
    [kept] = store.outcomes()
    assert (kept.entity_type, kept.entity_id, kept.content["text"]) == ("inspection", str(inspection), "笔记")
