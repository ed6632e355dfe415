"""Which service function applies each mutation kind.

Adding a kind (after declaring it and appending it to ``schemas.sync.MUTATION_TYPES``):
add one line to :data:`HANDLERS`, ``"<kind>": "server.<domain>.service:apply_<kind>"``.

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

Handlers are named as ``"module:function"`` strings and imported on first use,
so this table can list kinds whose service is still being written.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from schemas import sync as wire
from server.accounts.policy import Actor

Handler = Callable[[Actor, Any], Awaitable[wire.Applied | wire.Conflict | None]]
BatchHandler = Callable[[Actor, Sequence[Any]], Awaitable[list[wire.Applied | wire.Conflict | Exception]]]

#: kind → "module:function" of its handler. Add a line per kind.
HANDLERS: dict[str, str] = {
    "start_inspection": "server.inspections.service:apply_start_inspection",
    "record_item_result": "server.inspections.service:apply_record_item_result",
    "submit_inspection": "server.inspections.service:apply_submit_inspection",
    "add_note": "server.inspections.service:apply_add_note",
    "add_hazard": "server.hazards.service:apply_add_hazard",
    "report_rectification": "server.hazards.service:apply_report_rectification",
    "report_recheck": "server.hazards.service:apply_report_recheck",
    "add_violation": "server.violations.service:apply_add_violation",
    "propose_enforcement": "server.enforcement.service:apply_propose_enforcement",
    "attach_evidence": "server.evidence.service:apply_attach_evidence",
}

#: kind → "module:function" of an optional bulk handler.
BATCH_HANDLERS: dict[str, str] = {
    "record_item_result": "server.inspections.service:apply_record_item_results",
}


def _resolve(path: str) -> Any:
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def handler(kind: str) -> Handler | None:
    """The handler of ``kind``, or None if this server has none (the mutation is then rejected)."""
    path = HANDLERS.get(kind)
    if path is None:
        return None
    try:
        return _resolve(path)
    except (ImportError, AttributeError):
        return None


def batch_handler(kind: str) -> BatchHandler | None:
    path = BATCH_HANDLERS.get(kind)
    if path is None:
        return None
    try:
        return _resolve(path)
    except (ImportError, AttributeError):
        return None
