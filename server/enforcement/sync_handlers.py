"""What enforcement registers with sync: the handler of its mutation (ProposeEnforcement)."""

from __future__ import annotations

from schemas.enforcement import ProposeEnforcement
from server.enforcement import service
from server.sync.registry import Registry


def register(registry: Registry) -> None:
    registry.handle(ProposeEnforcement, service.apply_propose_enforcement)
