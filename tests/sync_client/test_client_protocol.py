"""Pure sync rules: encoding, outcome handling, failure classes, backoff."""

from __future__ import annotations

import datetime as dt
import random
import uuid

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from schemas import sync
from schemas.inspections import RecordItemResult
from sync_client import _protocol as protocol


def test_a_push_carries_the_outbox_bytes_unchanged_in_both_encodings():
    device = uuid.uuid4()
    mutation = RecordItemResult(seq=7, id=uuid.uuid4(), inspection_id=uuid.uuid4(), item_id=uuid.uuid4(), outcome="fail")
    request = protocol.push_request(device, [msgspec.msgpack.encode(mutation)])
    body = protocol.encode(request, protocol.MSGPACK)
    decoded = protocol.decode(body, sync.PushRequest, protocol.MSGPACK)
    assert decoded.device_id == device
    assert msgspec.msgpack.decode(decoded.mutations[0], type=sync.AnyMutation) == mutation


def test_answers_keep_the_reason_of_rejections_and_both_sides_of_conflicts():
    rid = uuid.uuid4()
    response = sync.PushResponse(
        server_time=dt.datetime.now(dt.UTC),
        outcomes=[
            sync.Applied(seq=1),
            sync.Rejected(seq=2, code="not_found", message="记录不存在", field="inspection_id"),
            sync.Conflict(seq=3, entity_type="item_result", entity_id=rid, fields=["outcome"],
                          conflict_ids=[uuid.uuid4()], server_version=4, server_record={"outcome": "pass"}),
        ],
    )
    wire = protocol.decode(protocol.encode(response, protocol.JSON), sync.PushResponse, protocol.JSON)
    got = protocol.answers(wire)
    assert [a[1] for a in got] == ["applied", "rejected", "conflict"]
    assert got[1][2:5] == ("not_found", "记录不存在", "inspection_id")
    assert got[2][5]["server_record"] == {"outcome": "pass"} and got[2][5]["server_version"] == 4


def test_a_json_page_is_stored_as_msgpack():
    rid = uuid.uuid4()
    record = {"id": str(rid), "note": "消防通道堵塞"}
    response = sync.PullResponse(
        changes=[sync.Put(seq=3, scope="user:" + str(rid), entity_type="x", entity_id=rid,
                          record=msgspec.Raw(msgspec.json.encode(record))),
                 sync.Remove(seq=4, scope="user:" + str(rid), entity_type="y", entity_id=rid)],
        cursors={"user:" + str(rid): 4},
        has_more=True,
    )
    wire = protocol.decode(protocol.encode(response, protocol.JSON), sync.PullResponse, protocol.JSON)
    page = protocol.page(wire, protocol.JSON)
    assert msgspec.msgpack.decode(page.puts[0][4]) == record
    assert page.removes == [("user:" + str(rid), "y", str(rid))]
    assert page.has_more and page.cursors == {"user:" + str(rid): 4}


def test_compression_only_above_the_threshold_and_it_round_trips():
    import gzip

    small, headers = protocol.compress(b"x" * 10)
    assert headers == {} and small == b"x" * 10
    big = bytes(range(256)) * 100
    packed, headers = protocol.compress(big)
    assert headers == {"Content-Encoding": "gzip"} and gzip.decompress(packed) == big


def test_failures_are_sorted_into_retry_reauthenticate_or_stop():
    assert protocol.classify(None) is protocol.Action.RETRY
    for status in (408, 429, 500, 502, 503, 504):
        assert protocol.classify(status) is protocol.Action.RETRY
    assert protocol.classify(401, "token_expired") is protocol.Action.REAUTHENTICATE
    for status in (400, 403, 404, 409, 413, 422):
        assert protocol.classify(status) is protocol.Action.STOP


@given(attempt=st.integers(0, 60), seed=st.integers(0, 2**32))
def test_backoff_is_jittered_below_an_exponential_ceiling_with_a_cap(attempt, seed):
    delay = protocol.backoff_delay(attempt, base=0.5, cap=30.0, rng=random.Random(seed))
    assert 0 <= delay <= min(30.0, 0.5 * 2**attempt)


def test_backoff_spreads_clients_apart():
    delays = {round(protocol.backoff_delay(5, rng=random.Random(seed)), 6) for seed in range(50)}
    assert len(delays) > 40


@given(
    outcome=st.sampled_from(["pass", "fail", "not_applicable", None]),
    # Text a person can type: NUL is refused by every wire type (schemas.bounds).
    note=st.one_of(st.none(), st.text(st.characters(blacklist_characters="\x00"), max_size=20)),
    current=st.booleans(),
)
def test_item_result_view_changes_exactly_the_fields_written(outcome, note, current):
    ids = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    server = {"id": "srv", "inspection_id": str(ids[1]), "item_id": str(ids[2]), "outcome": "pass", "note": "原值", "version": 3}
    kwargs = {}
    if outcome is not None:
        kwargs["outcome"] = outcome
    if note is not None:
        kwargs["note"] = note
    mutation = RecordItemResult(seq=1, id=ids[0], inspection_id=ids[1], item_id=ids[2], **kwargs)
    view = protocol.item_result_overlay(server if current else None, mutation, user_id="u")
    base = server if current else {"note": ""}
    assert view.get("outcome") == (outcome if outcome is not None else base.get("outcome"))
    assert view["note"] == (note if note is not None else base["note"])
    assert view["id"] == ("srv" if current else str(ids[0]))


def test_the_inspection_scope_the_phone_looks_in_is_the_one_the_server_publishes_to():
    """record_item_result finds an item's record through this key; a different spelling would miss it."""
    from server.sync import scopes

    inspection = uuid.uuid4()
    assert protocol.inspection_scope(inspection) == scopes.inspection(inspection)
