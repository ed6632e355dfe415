"""Tell people what needs them: one inbox entry per person per event, on their phone and, if the
bureau configured one, at its webhook (SMS gateway, 政务微信 / 钉钉 robot).

Domains call :func:`notify` inside their own unit of work when something
happens (an escalation, a release, a returned check) or when the reminder job
finds a deadline near or passed. The event's ``key`` makes it idempotent: the
same key for the same person is stored once, so running a reminder again, or
two servers running it, tells nobody twice.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from typing import Any

from schemas import notifications as wire
from schemas.vocab import Role
from server.accounts.policy import Actor
from server.errors import InvalidInput, NotFound, PermissionDenied
from server.notifications.tables import DeliveryAttempt, Notification, NotificationDelivery
from server.settings import Settings
from server.sync import scopes
from server.sync import service as sync_service

ENTITY = "notification"
MAX_LIST = 200


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def to_wire(row: dict[str, Any]) -> wire.Notification:
    return wire.Notification(
        id=row["id"], kind=row["kind"], title=row["title"], body=row["body"], entity_type=row["entity_type"],
        entity_id=row["entity_id"], created_at=row["created_at"], read_at=row["read_at"],
    )


async def notify(
    recipients: Iterable[uuid.UUID | None],
    *,
    kind: str,
    key: str,
    title: str,
    body: str = "",
    entity: tuple[str, uuid.UUID | str] | None = None,
    settings: Settings,
    now: dt.datetime | None = None,
) -> int:
    """Store one notification per recipient for this event (``key``), in the caller's unit of work.

    Recipients who already have this key are skipped. Each new entry goes to the
    user's phone through sync and, when ``NOTIFY_WEBHOOK_URL`` is set, is queued
    for the webhook. Returns how many were new.
    """
    now = now or _now()
    entity_type, entity_id = (entity[0], str(entity[1])) if entity else ("", "")
    created = 0
    for user_id in sorted({u for u in recipients if u is not None}, key=str):
        note_id = uuid.uuid4()
        await Notification.insert(
            Notification(
                id=note_id, user=user_id, kind=kind, key=key[:200], title=title[:200], body=body,
                entity_type=entity_type, entity_id=entity_id, created_at=now,
            )
        ).on_conflict(target=(Notification.user, Notification.key), action="DO NOTHING")
        row = await Notification.select().where(Notification.id == note_id).first()
        if row is None:
            continue  # told before
        created += 1
        await sync_service.publish(ENTITY, note_id, to_wire(row), scope=scopes.user(user_id))
        if settings.notifications.webhook_url:
            await NotificationDelivery.insert(
                NotificationDelivery(id=uuid.uuid4(), notification=note_id, next_attempt_at=now, created_at=now)
            )
    return created


async def list_mine(actor: Actor, *, unread_only: bool, limit: int) -> list[wire.Notification]:
    if actor.user_id is None:
        raise PermissionDenied("请先登录", "log in first")
    if not 1 <= limit <= MAX_LIST:
        raise InvalidInput(f"limit 须在 1–{MAX_LIST} 之间", f"limit must be 1..{MAX_LIST}", field="limit")
    query = Notification.select().where(Notification.user == actor.user_id)
    if unread_only:
        query = query.where(Notification.read_at.is_null())
    rows = await query.order_by(Notification.created_at, ascending=False).limit(limit)
    return [to_wire(r) for r in rows]


async def mark_read(actor: Actor, notification_id: uuid.UUID, *, now: dt.datetime | None = None) -> wire.Notification:
    """The user has read it (from any device): stamped once, and their phones learn it through sync."""
    row = await Notification.select().where(Notification.id == notification_id).first()
    if row is None or row["user"] != actor.user_id:
        raise NotFound("没有这条通知", "no such notification")
    if row["read_at"] is None:
        row["read_at"] = now or _now()
        await Notification.update({Notification.read_at: row["read_at"]}).where(Notification.id == notification_id)
        await sync_service.publish(ENTITY, notification_id, to_wire(row), scope=scopes.user(actor.user_id))
    return to_wire(row)


async def list_deliveries(actor: Actor, *, status: str | None, limit: int) -> list[wire.Delivery]:
    """Webhook deliveries with every attempt, newest first (administrators)."""
    if actor.role != Role.ADMIN:
        raise PermissionDenied("只有系统管理员可以查看推送记录", "only administrators see deliveries")
    if not 1 <= limit <= MAX_LIST:
        raise InvalidInput(f"limit 须在 1–{MAX_LIST} 之间", f"limit must be 1..{MAX_LIST}", field="limit")
    query = NotificationDelivery.select(
        NotificationDelivery.all_columns(),
        NotificationDelivery.notification.user.as_alias("user_id"),
        NotificationDelivery.notification.kind.as_alias("kind"),
    )
    if status is not None:
        query = query.where(NotificationDelivery.status == status)
    rows = await query.order_by(NotificationDelivery.created_at, ascending=False).limit(limit)
    attempts: dict[uuid.UUID, list[wire.DeliveryAttempt]] = {}
    if rows:
        for a in await DeliveryAttempt.select().where(DeliveryAttempt.delivery.is_in([r["id"] for r in rows])).order_by(
            DeliveryAttempt.at
        ):
            attempts.setdefault(a["delivery"], []).append(
                wire.DeliveryAttempt(at=a["at"], status_code=a["status_code"], error=a["error"], duration_ms=a["duration_ms"])
            )
    return [
        wire.Delivery(
            id=r["id"], notification_id=r["notification"], user_id=r["user_id"], kind=r["kind"], status=r["status"],
            attempts=r["attempts"], next_attempt_at=r["next_attempt_at"], delivered_at=r["delivered_at"],
            last_error=r["last_error"], history=attempts.get(r["id"], []),
        )
        for r in rows
    ]
