"""Pure sync logic: outbox → requests, responses → what to store, failures → what to do.

No I/O here; :mod:`sync_client._transport` does the network and
:mod:`sync_client._store` the disk, so every rule below is testable alone.
"""

from __future__ import annotations

import datetime as dt
import gzip
import random
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

import msgspec

from schemas import sync
from schemas.inspections import ITEM_RESULT_FIELDS

MSGPACK = "application/msgpack"
JSON = "application/json"
#: Bodies above this many bytes are gzip-compressed before sending.
GZIP_MIN_BYTES = 1024
#: Decompressed bodies larger than this are refused (a compressed bomb is not a response).
MAX_INFLATED_BYTES = 64 * 1024 * 1024


# --- encoding -------------------------------------------------------------------


def encode(value: Any, content_type: str = MSGPACK) -> bytes:
    return msgspec.msgpack.encode(value) if content_type == MSGPACK else msgspec.json.encode(value)


def decode(data: bytes, type_: Any, content_type: str) -> Any:
    if content_type.startswith(MSGPACK):
        return msgspec.msgpack.decode(data, type=type_)
    return msgspec.json.decode(data, type=type_)


def compress(body: bytes) -> tuple[bytes, dict[str, str]]:
    """The body to send and its ``Content-Encoding`` header (small bodies go as they are)."""
    if len(body) < GZIP_MIN_BYTES:
        return body, {}
    return gzip.compress(body, compresslevel=5), {"Content-Encoding": "gzip"}


def record_bytes(raw: msgspec.Raw, content_type: str) -> bytes | msgspec.Raw:
    """A pulled record as the replica stores it (MessagePack), whatever the wire encoding was.

    A MessagePack record is stored as it arrived: SQLite takes the ``Raw`` view as a blob, nothing is copied
    or re-encoded.
    """
    if content_type.startswith(MSGPACK):
        return raw
    return msgspec.msgpack.encode(msgspec.json.decode(raw))


# --- push -----------------------------------------------------------------------


def push_request(device_id: uuid.UUID, payloads: Iterable[bytes]) -> sync.PushRequest:
    """A push of queued mutations (each already MessagePack-encoded in the outbox)."""
    return sync.PushRequest(device_id=device_id, mutations=[msgspec.Raw(p) for p in payloads])


Answer = tuple[int, str, str, str, str | None, dict[str, Any] | None]


def answers(response: sync.PushResponse) -> list[Answer]:
    """The push outcomes as the store keeps them: ``(seq, outcome, code, message, field, detail)``."""
    result: list[Answer] = []
    for outcome in response.outcomes:
        if isinstance(outcome, sync.Applied):
            result.append((outcome.seq, "applied", "", "", None, None))
        elif isinstance(outcome, sync.Rejected):
            result.append((outcome.seq, "rejected", outcome.code, outcome.message, outcome.field, None))
        elif isinstance(outcome, sync.Deferred):
            result.append((outcome.seq, "deferred", outcome.code, outcome.message, None, None))
        else:
            detail = {
                "entity_type": outcome.entity_type,
                "entity_id": str(outcome.entity_id),
                "fields": outcome.fields,
                "conflict_ids": [str(c) for c in outcome.conflict_ids],
                "server_version": outcome.server_version,
                "server_record": outcome.server_record,
            }
            message = "与其他检查人员的记录冲突，已提交负责人裁定：" + "、".join(outcome.fields)
            result.append((outcome.seq, "conflict", "version_conflict", message, ",".join(outcome.fields), detail))
    return result


# --- pull -----------------------------------------------------------------------


class PulledPut(msgspec.Struct, array_like=True, tag_field="op", tag="put", gc=False):
    """``sync.Put`` as the phone reads it: the id kept as the text the replica stores, the record undecoded."""

    seq: int
    scope: str
    entity_type: str
    entity_id: str
    record: msgspec.Raw


class PulledRemove(msgspec.Struct, array_like=True, tag_field="op", tag="remove", gc=False):
    """``sync.Remove`` as the phone reads it."""

    seq: int
    scope: str
    entity_type: str
    entity_id: str


class PulledPage(msgspec.Struct, kw_only=True):
    """``sync.PullResponse`` as the phone decodes it (same wire shape): no UUID objects, no per-record work.

    The replica keys records by their id's text, so decoding each id into a ``uuid.UUID`` only to turn it
    back into text was most of a page's decoding time.
    """

    protocol: int = sync.PROTOCOL_VERSION
    changes: list[PulledPut | PulledRemove]
    cursors: dict[str, int]
    dropped_scopes: list[str] = msgspec.field(default_factory=list)
    has_more: bool = False
    server_time: dt.datetime | None = None


@dataclass(frozen=True)
class Page:
    """One pull page, ready for ``Store.apply_page``."""

    puts: list[tuple[str, str, str, int, bytes | msgspec.Raw]]
    removes: list[tuple[str, str, str]]
    cursors: dict[str, int]
    dropped_scopes: list[str]
    has_more: bool


def page(response: PulledPage | sync.PullResponse, content_type: str) -> Page:
    changes = response.changes
    put_type = PulledPut if isinstance(response, PulledPage) else sync.Put
    if content_type.startswith(MSGPACK) and put_type is PulledPut:
        # The initial sync's path: ids already text, records stored as they came.
        puts = [(c.scope, c.entity_type, c.entity_id, c.seq, c.record) for c in changes if type(c) is PulledPut]
    else:
        puts = [(c.scope, c.entity_type, str(c.entity_id), c.seq, record_bytes(c.record, content_type))
                for c in changes if isinstance(c, put_type)]
    if len(puts) == len(changes):
        removes: list[tuple[str, str, str]] = []
    else:
        removes = [(c.scope, c.entity_type, str(c.entity_id)) for c in changes if not isinstance(c, put_type)]
    return Page(puts, removes, dict(response.cursors), list(response.dropped_scopes), response.has_more)


def record_decoder(entity_type: str) -> Any:
    """A decoder of stored records of one type into plain dicts with every field (defaults included)."""
    struct = sync.RECORD_TYPES.get(entity_type)
    if struct is None:
        return msgspec.msgpack.decode
    decoder = msgspec.msgpack.Decoder(struct)

    def decode(data: bytes) -> dict[str, Any]:
        try:
            value = decoder.decode(data)
        except msgspec.ValidationError:  # a newer server's shape: show what arrived
            return msgspec.msgpack.decode(data)
        return record_view(value)

    return decode


def record_view(value: msgspec.Struct) -> dict[str, Any]:
    """A wire record as the phone shows it: every field, defaults included, in plain builtins."""
    return {f: msgspec.to_builtins(getattr(value, f)) for f in value.__struct_fields__}


def view_of(entity_type: str, current: Mapping[str, Any] | None, **changes: Any) -> dict[str, Any]:
    """``current`` with ``changes``, in the shape of the server's wire record of ``entity_type``.

    Local writes are shown exactly as pulled records are; a record this build cannot shape (too little is
    known about it here) is shown as it is.
    """
    record = {**(current or {}), **changes}
    struct = sync.RECORD_TYPES.get(entity_type)
    if struct is None:
        return {k: _plain(v) for k, v in record.items()}
    try:
        return record_view(msgspec.convert(record, struct))
    except msgspec.ValidationError:
        return {k: _plain(v) for k, v in record.items()}


# --- failures -------------------------------------------------------------------


class Action(Enum):
    """What to do after a failed request."""

    RETRY = "retry"  # the same request may succeed later: back off and try again
    REAUTHENTICATE = "reauthenticate"  # the token is not accepted: refresh or pause, keep the outbox
    STOP = "stop"  # the request itself is refused: keep the outbox, report, do not loop


def classify(status: int | None, code: str | None = None) -> Action:
    """Sort a failure: ``status`` None means the request or its response was lost."""
    if status is None or status in (408, 425, 429) or status >= 500:
        return Action.RETRY
    if status == 401:
        return Action.REAUTHENTICATE
    return Action.STOP


def backoff_delay(attempt: int, *, base: float = 0.5, cap: float = 30.0, rng: random.Random | None = None) -> float:
    """Seconds to wait before retry ``attempt`` (0-based): full jitter over an exponential ceiling."""
    ceiling = min(cap, base * (2**attempt))
    return (rng or random).uniform(0, ceiling)


# --- local views of queued writes -------------------------------------------------


def inspection_overlay(
    current: Mapping[str, Any] | None, *, inspection_id: uuid.UUID, user_id: str | None, **changes: Any
) -> dict[str, Any]:
    """What an inspection looks like locally after starting or submitting it."""
    record = dict(current) if current else {
        "id": str(inspection_id),
        "kind": "routine",
        "status": "planned",
        "inspector_ids": [user_id] if user_id else [],
        "version": 0,
    }
    record.update({k: _plain(v) for k, v in changes.items()})
    return record


def item_result_overlay(
    current: Mapping[str, Any] | None, mutation: Any, *, user_id: str | None
) -> dict[str, Any]:
    """What an item result looks like locally after a queued ``RecordItemResult``."""
    record = dict(current) if current else {
        "id": str(mutation.id),
        "inspection_id": str(mutation.inspection_id),
        "item_id": str(mutation.item_id),
        "note": "",
        "version": 0,
    }
    for name in ITEM_RESULT_FIELDS:
        value = getattr(mutation, name)
        if value is not msgspec.UNSET:
            record[name] = _plain(value)
    record["updated_by"] = user_id
    return record


def inspection_scope(inspection_id: uuid.UUID) -> str:
    """The scope key through which the server sends an inspection's records (``server.sync.scopes.inspection``)."""
    return f"inspection:{inspection_id}"


def find_item_result(records: Iterable[Mapping[str, Any]], inspection_id: uuid.UUID, item_id: uuid.UUID) -> dict | None:
    """The record of one checklist item of one inspection, if the replica has it."""
    inspection, item = str(inspection_id), str(item_id)
    for record in records:
        if record.get("inspection_id") == inspection and record.get("item_id") == item:
            return dict(record)
    return None


def _plain(value: Any) -> Any:
    return msgspec.to_builtins(value) if not isinstance(value, (str, int, float, bool, type(None))) else value
