"""Inbox entries, their webhook deliveries and every delivery attempt."""

from piccolo.columns import UUID, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from server.accounts.tables import User


class Notification(Table, tablename="notification"):
    """One message to one user; ``(user, key)`` is unique (m0012), so an event is told once per person."""

    id = UUID(primary_key=True)
    user = ForeignKey(references=User, on_delete=OnDelete.restrict, index=True, null=False)
    kind = Varchar(length=32)
    key = Varchar(length=200)
    title = Varchar(length=200)
    body = Text(default="")
    entity_type = Varchar(length=32, default="")
    entity_id = Varchar(length=64, default="")
    created_at = Timestamptz()
    read_at = Timestamptz(null=True, default=None)


class NotificationDelivery(Table, tablename="notification_delivery"):
    """The outbound copy of a notification: pending until the webhook answered 2xx, retried with backoff."""

    id = UUID(primary_key=True)
    notification = ForeignKey(references=Notification, on_delete=OnDelete.restrict, index=True, null=False)
    status = Varchar(length=16, default="pending")  # pending | sending | delivered | failed
    attempts = Integer(default=0)
    next_attempt_at = Timestamptz()
    lease_until = Timestamptz(null=True, default=None)
    last_error = Text(default="")
    delivered_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz()


class DeliveryAttempt(Table, tablename="delivery_attempt"):
    """One POST to the webhook and how it went."""

    id = UUID(primary_key=True)
    delivery = ForeignKey(references=NotificationDelivery, on_delete=OnDelete.restrict, index=True, null=False)
    at = Timestamptz()
    status_code = Integer(null=True, default=None)
    error = Text(default="")
    duration_ms = Integer(default=0)
