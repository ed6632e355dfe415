"""The offline sync protocol: push (phone → server) and pull (server → phone).

Push
    ``POST /api/sync/push`` with a :class:`PushRequest`. The server applies the
    batch in ONE database transaction, each mutation isolated so a rejected one
    has no effect and never blocks the ones after it. Every mutation comes back
    as one :data:`Outcome` — :class:`Applied`, :class:`Rejected` (stable
    ``code``, Chinese ``message``, ``field``), :class:`Conflict` (with the
    server's current record) or :class:`Deferred` (the server failed on it: keep
    it queued unchanged and send it again later; mutations after it about the
    same inspection are deferred too, so their order holds). Every outcome but
    ``deferred`` is stored under ``(device, seq)`` in the same transaction as
    the effect, so a retried push gets the stored outcomes back and applies
    nothing twice. A ``413`` for the whole push means the server takes fewer
    mutations per push (``SYNC_MAX_PUSH_MUTATIONS``): send smaller batches.

    Mutations travel as raw elements (:class:`msgspec.Raw`) and the server
    decodes them one at a time: a mutation this server cannot decode (a typo, a
    kind from a newer app) is rejected on its own instead of failing the batch.

Pull
    ``POST /api/sync/pull`` with a :class:`PullRequest` carrying one cursor per
    scope the phone holds. The reply is a page of :data:`Change` entries
    (``put`` = the record's current state, ``remove`` = it left the scope or was
    deleted), the new cursors, the scopes the user no longer has
    (``dropped_scopes``: forget every record held only through them) and
    ``has_more``. A scope the phone does not know yet starts at 0, which yields
    its full current state: that is the initial sync, resumable page by page
    because each page's cursors are stored with the page.

Scope keys are ``"<kind>:<uuid>"`` strings; the vocabulary is in
``server/sync/scopes.py``. Records are sent as the domain's own wire struct
(``schemas.<domain>``), pre-encoded, in ``Put.record``.

Encoding: JSON or MessagePack by ``Content-Type`` / ``Accept``
(``application/json``, ``application/msgpack``), gzip when the client says
``Accept-Encoding: gzip``. Both directions carry ``protocol`` (see
:data:`PROTOCOL_VERSION`); the wire only grows (``schemas/base.py``).

Adding a mutation kind (other domains do this):
    1. declare it in your schema module: ``class AddThing(Mutation, kw_only=True, tag="add_thing")``;
    2. append it to :data:`MUTATION_TYPES` below;
    3. register its handler in its domain's ``sync_handlers.register`` (see ``server/sync/registry.py``);
    4. give ``sync_client.SyncClient`` a write method that queues it (marked ``@_queues(AddThing)``).
    Tests fail while a kind lacks its handler or its client method.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Union

import msgspec

from schemas import checklists, documents, enforcement, evidence, hazards, inspections, registry, spotchecks, violations
from schemas.base import Input, Mutation, Seq, Struct

#: Version of this protocol; the server accepts any version up to its own.
PROTOCOL_VERSION = 1
#: Most mutations one push may carry.
MAX_PUSH_MUTATIONS = 1000
#: Most changes one pull page may carry.
MAX_PULL_LIMIT = 10_000

#: Every mutation kind a phone may queue. Append only (never reorder or remove).
MUTATION_TYPES: tuple[type[Mutation], ...] = (
    inspections.StartInspection,
    inspections.RecordItemResult,
    inspections.SubmitInspection,
    inspections.AddNote,
    hazards.AddHazard,
    hazards.ReportRectification,
    hazards.ReportRecheck,
    violations.AddViolation,
    enforcement.ProposeEnforcement,
    evidence.AttachEvidence,
    documents.SignDocument,
)

#: entity_type of a pulled record → its wire struct, so a phone reads every field (defaults are
#: omitted on the wire). Append a line when a domain publishes a new entity type.
RECORD_TYPES: dict[str, type[Struct]] = {
    "inspection": inspections.Inspection,
    "item_result": inspections.ItemResult,
    "item_result_conflict": inspections.ItemResultConflict,
    "amendment": inspections.Amendment,
    "hazard": hazards.Hazard,
    "recheck": hazards.Recheck,
    "violation": violations.Violation,
    "evidence": evidence.Evidence,
    "enforcement_action": enforcement.EnforcementAction,
    "enterprise": registry.Enterprise,
    "spot_check_task": spotchecks.AssignedTask,
    "checklist_template": checklists.ChecklistTemplate,
    "document": documents.Document,
    "document_signature": documents.DocumentSignature,
}

#: The tagged union of all mutations (tag field ``kind``).
AnyMutation = Union[MUTATION_TYPES]  # type: ignore[valid-type]

ScopeKey = Annotated[str, msgspec.Meta(min_length=3, max_length=80, pattern=r"^[a-z_]+:[0-9a-f-]{36}$")]


class MutationHead(Struct, kw_only=True):
    """The two fields every mutation has: read first so an undecodable one can still be answered."""

    seq: Seq
    kind: str


# --- push ---------------------------------------------------------------------


class PushRequest(Input, kw_only=True):
    """A batch of mutations from one device, oldest first."""

    protocol: Annotated[int, msgspec.Meta(ge=1)] = PROTOCOL_VERSION
    device_id: uuid.UUID
    mutations: Annotated[list[msgspec.Raw], msgspec.Meta(max_length=MAX_PUSH_MUTATIONS)]


class Applied(Struct, kw_only=True, tag_field="outcome", tag="applied"):
    """The mutation took effect (``amendment``: it was kept as an amendment of a signed inspection)."""

    seq: int
    entity_type: str = ""
    entity_id: uuid.UUID | None = None
    version: int | None = None
    amendment: bool = False


class Rejected(Struct, kw_only=True, tag_field="outcome", tag="rejected"):
    """The mutation had no effect; ``code`` is a stable ``schemas.problems.ErrorCode`` value."""

    seq: int
    code: str
    message: str
    message_en: str = ""
    field: str | None = None


class Conflict(Struct, kw_only=True, tag_field="outcome", tag="conflict"):
    """Some fields were kept for a supervisor to decide; the others merged. Nothing was discarded."""

    seq: int
    entity_type: str
    entity_id: uuid.UUID
    fields: list[str]
    conflict_ids: list[uuid.UUID]
    server_version: int
    server_record: dict[str, Any]


class Deferred(Struct, kw_only=True, tag_field="outcome", tag="deferred"):
    """Neither applied nor refused: the server failed on it (its fault, not the record's). Nothing was stored;
    keep the mutation queued, unchanged, and send it again later — it is then applied as if new."""

    seq: int
    code: str
    message: str
    message_en: str = ""


Outcome = Applied | Rejected | Conflict | Deferred


class PushResponse(Struct, kw_only=True):
    """One outcome per pushed mutation, in the order sent (retries included)."""

    protocol: int = PROTOCOL_VERSION
    outcomes: list[Outcome]
    server_time: dt.datetime


# --- pull ---------------------------------------------------------------------


class PullRequest(Input, kw_only=True):
    """Changes after each cursor; an empty ``cursors`` asks for the initial sync."""

    protocol: Annotated[int, msgspec.Meta(ge=1)] = PROTOCOL_VERSION
    device_id: uuid.UUID
    cursors: Annotated[dict[ScopeKey, Annotated[int, msgspec.Meta(ge=0)]], msgspec.Meta(max_length=5000)] = (
        msgspec.field(default_factory=dict)
    )
    limit: Annotated[int, msgspec.Meta(ge=1, le=MAX_PULL_LIMIT)] = 2000


class Put(Struct, kw_only=True, array_like=True, tag_field="op", tag="put"):
    """The current state of a record in ``scope`` (``record`` is the domain's wire struct, encoded)."""

    seq: int
    scope: str
    entity_type: str
    entity_id: uuid.UUID
    record: msgspec.Raw


class Remove(Struct, kw_only=True, array_like=True, tag_field="op", tag="remove"):
    """The record left ``scope`` (deleted, or no longer visible through it)."""

    seq: int
    scope: str
    entity_type: str
    entity_id: uuid.UUID


Change = Put | Remove


class PullResponse(Struct, kw_only=True):
    """One page of changes; store ``changes`` and ``cursors`` together, then ask again while ``has_more``."""

    protocol: int = PROTOCOL_VERSION
    changes: list[Change]
    cursors: dict[str, int]
    dropped_scopes: list[str] = msgspec.field(default_factory=list)
    has_more: bool = False
    server_time: dt.datetime | None = None


def mutation_decoder(content_type: str) -> Any:
    """A decoder of one mutation of the union for the given encoding."""
    if content_type == "msgpack":
        return msgspec.msgpack.Decoder(AnyMutation)
    return msgspec.json.Decoder(AnyMutation)
