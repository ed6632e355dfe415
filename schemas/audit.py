"""What a person reads of the audit chain: one entry of an object's history."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import msgspec

from schemas.base import Struct


class AuditRecord(Struct, kw_only=True):
    """One recorded step on one object (who, when, what changed); the chain's hashes stay server-side."""

    seq: int
    at: dt.datetime
    actor_id: uuid.UUID | None
    actor_role: str
    action: str
    entity_type: str
    entity_id: str
    changes: dict[str, Any] = msgspec.field(default_factory=dict)
