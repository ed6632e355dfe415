"""What evidence registers with sync: the handler of its mutation (AttachEvidence)."""

from __future__ import annotations

from schemas.evidence import AttachEvidence
from server.evidence import service
from server.sync.registry import Registry


def register(registry: Registry) -> None:
    registry.handle(AttachEvidence, service.apply_attach_evidence)
