"""The composition of sync's dispatch table: every domain registers its mutation handlers and pull scopes.

Sync imports no domain (:mod:`server.sync.registry`); this module, above both, is where they meet.
``create_app`` builds the table once per app and refuses to start when a kind of
``schemas.sync.MUTATION_TYPES`` has no handler, so a missing registration fails the start, never a push.
A new domain with mutations adds its ``sync_handlers.register`` to :data:`REGISTRARS`.
"""

from __future__ import annotations

from collections.abc import Callable

from server.documents import sync_handlers as documents
from server.enforcement import sync_handlers as enforcement
from server.evidence import sync_handlers as evidence
from server.hazards import sync_handlers as hazards
from server.inspections import sync_handlers as inspections
from server.sync.registry import Registry
from server.violations import sync_handlers as violations

#: Each domain's registration, in the order their handlers were listed before.
REGISTRARS: tuple[Callable[[Registry], None], ...] = (
    inspections.register,
    hazards.register,
    violations.register,
    enforcement.register,
    evidence.register,
    documents.register,
)


def build_registry(registrars: tuple[Callable[[Registry], None], ...] = REGISTRARS) -> Registry:
    """A registry with every domain's handlers; ``RuntimeError`` if a mutation kind is left without one."""
    registry = Registry()
    for register in registrars:
        register(registry)
    return registry.check_complete()
