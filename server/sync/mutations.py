"""Which service function applies each mutation kind.

Adding a kind (after declaring it and appending it to ``schemas.sync.MUTATION_TYPES``):
add one line to :data:`HANDLERS`, ``AddThing: things_service.apply_add_thing``.
``tests/server/sync/test_mutations.py`` fails while a kind of the union has no handler.

A handler is ``async def apply_<kind>(actor: Actor, mutation) -> Applied | Conflict | None``.
It runs inside the push's transaction, in a savepoint of its own: it checks
permission and state, writes, calls ``audit_service.record`` and
``sync_service.publish``, and raises a domain error (``server.errors``) to
reject — everything it did is then rolled back, audit entries and published
changes included. ``None`` means plainly applied. It never commits.

A kind may also list a bulk handler in :data:`BATCH_HANDLERS`:
``async def (actor, mutations) -> list[Applied | Conflict | Exception]``, one
entry per mutation, where an exception is the domain error rejecting that one
(and it must have changed nothing for it). Push hands it each run of
consecutive mutations of that kind and falls back to the single handler, one
at a time, if the bulk call raises.

Handlers are plain imports: a service that fails to import fails the server's start, never one push.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from schemas import sync as wire
from schemas.base import Mutation
from schemas.documents import SignDocument
from schemas.enforcement import ProposeEnforcement
from schemas.evidence import AttachEvidence
from schemas.hazards import AddHazard, ReportRecheck, ReportRectification
from schemas.inspections import AddNote, RecordItemResult, StartInspection, SubmitInspection
from schemas.violations import AddViolation
from server.accounts.policy import Actor
from server.documents import signing as documents_signing
from server.enforcement import service as enforcement_service
from server.evidence import service as evidence_service
from server.hazards import lifecycle as hazard_lifecycle
from server.hazards import recheck_results as hazard_recheck_results
from server.inspections import item_results as inspection_item_results
from server.inspections import lifecycle as inspection_lifecycle
from server.inspections import notes as inspection_notes
from server.violations import service as violations_service

Handler = Callable[[Actor, Any], Awaitable[wire.Applied | wire.Conflict | None]]
BatchHandler = Callable[[Actor, Sequence[Any]], Awaitable[list[wire.Applied | wire.Conflict | Exception]]]

#: mutation type → its handler. Add a line per kind.
HANDLERS: dict[type[Mutation], Handler] = {
    StartInspection: inspection_lifecycle.apply_start_inspection,
    RecordItemResult: inspection_item_results.apply_record_item_result,
    SubmitInspection: inspection_lifecycle.apply_submit_inspection,
    AddNote: inspection_notes.apply_add_note,
    AddHazard: hazard_lifecycle.apply_add_hazard,
    ReportRectification: hazard_lifecycle.apply_report_rectification,
    ReportRecheck: hazard_recheck_results.apply_report_recheck,
    AddViolation: violations_service.apply_add_violation,
    ProposeEnforcement: enforcement_service.apply_propose_enforcement,
    AttachEvidence: evidence_service.apply_attach_evidence,
    SignDocument: documents_signing.apply_sign_document,
}

#: mutation type → an optional bulk handler.
BATCH_HANDLERS: dict[type[Mutation], BatchHandler] = {
    RecordItemResult: inspection_item_results.apply_record_item_results,
}


def kind_of(mutation_type: type[Mutation]) -> str:
    """The tag a mutation type travels under (``add_hazard``)."""
    return str(mutation_type.__struct_config__.tag)


_BY_KIND = {kind_of(t): h for t, h in HANDLERS.items()}
_BATCH_BY_KIND = {kind_of(t): h for t, h in BATCH_HANDLERS.items()}


def handler(kind: str) -> Handler | None:
    """The handler of ``kind``, or None if this server has none (the mutation is then rejected)."""
    return _BY_KIND.get(kind)


def batch_handler(kind: str) -> BatchHandler | None:
    return _BATCH_BY_KIND.get(kind)
