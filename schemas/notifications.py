"""Wire types of notifications: the user's inbox (also synced to their phone as ``notification`` records)."""

from __future__ import annotations

import datetime as dt
import uuid

from schemas.base import Struct


class Notification(Struct, kw_only=True):
    """One message to the user: what happened, about which record, and whether they have read it."""

    id: uuid.UUID
    kind: str  # hazard_deadline_near | hazard_overdue | hazard_escalated | covert_released | check_returned
    #           | transfer_decision_near | transfer_decision_overdue | transfer_near | transfer_overdue (行刑衔接)
    title: str
    body: str = ""
    entity_type: str = ""
    entity_id: str = ""
    created_at: dt.datetime
    read_at: dt.datetime | None = None


class DeliveryAttempt(Struct, kw_only=True):
    at: dt.datetime
    status_code: int | None = None
    error: str = ""
    duration_ms: int = 0


class Delivery(Struct, kw_only=True):
    """A notification's copy sent to the bureau's webhook, and every attempt made (administrators)."""

    id: uuid.UUID
    notification_id: uuid.UUID
    user_id: uuid.UUID
    kind: str
    status: str  # pending | sending | delivered | failed
    attempts: int
    next_attempt_at: dt.datetime
    delivered_at: dt.datetime | None = None
    last_error: str = ""
    history: list[DeliveryAttempt] = []
