"""What violations registers with sync: the handler of its mutation (AddViolation)."""

from __future__ import annotations

from schemas.violations import AddViolation
from server.violations import service
from server.sync.registry import Registry


def register(registry: Registry) -> None:
    registry.handle(AddViolation, service.apply_add_violation)
