"""What documents registers with sync: the handler of its mutation (SignDocument)."""

from __future__ import annotations

from schemas.documents import SignDocument
from server.documents import signing
from server.sync.registry import Registry


def register(registry: Registry) -> None:
    registry.handle(SignDocument, signing.apply_sign_document)
