"""Deliver queued notifications to the bureau's webhook: signed, retried with backoff, every attempt kept.

The receiver (an SMS gateway adapter, a 政务微信 / 钉钉 robot bridge) gets a JSON
POST with two headers:

- ``X-Fieldcheck-Delivery``: the delivery's id, the same on every retry, so a
  receiver that saw it already can answer 2xx and do nothing;
- ``X-Fieldcheck-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>"
  with NOTIFY_WEBHOOK_SECRET>``, so it can refuse forgeries and stale replays.

A delivery is claimed (``sending`` with a lease) before the POST, so two runs
never send it at once; a 2xx marks it delivered and it is never sent again.
Anything else is recorded and retried later, doubling the wait, until
``NOTIFY_WEBHOOK_MAX_ATTEMPTS`` is reached (then ``failed``, visible to the admin).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import time
import uuid
from dataclasses import dataclass

import httpx
import msgspec

from server import database
from server.notifications.tables import DeliveryAttempt, NotificationDelivery
from server.settings import Settings

BATCH = 50
FIRST_RETRY_S = 30
LONGEST_WAIT_S = 3600


@dataclass
class DeliveryRun:
    delivered: int = 0
    retried: int = 0
    given_up: int = 0


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-Fieldcheck-Signature`` value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def retry_wait(attempts: int) -> dt.timedelta:
    """Wait before the next try after ``attempts`` failures: 30 s, 60 s, 120 s, … at most an hour."""
    return dt.timedelta(seconds=min(LONGEST_WAIT_S, FIRST_RETRY_S * 2 ** max(0, attempts - 1)))


async def _claim(settings: Settings, now: dt.datetime) -> list[dict]:
    lease = now + dt.timedelta(seconds=2 * settings.notifications.webhook_timeout_s + 30)
    async with database.transaction():
        due = NotificationDelivery.select(NotificationDelivery.id).where(
            (
                (NotificationDelivery.status == "pending")
                | ((NotificationDelivery.status == "sending") & (NotificationDelivery.lease_until < now))
            )
            & (NotificationDelivery.next_attempt_at <= now)
        ).order_by(NotificationDelivery.next_attempt_at).limit(BATCH)
        if database.is_postgres():
            due = due.lock_rows("UPDATE", skip_locked=True)
        ids = [r["id"] for r in await due]
        if not ids:
            return []
        await NotificationDelivery.update(
            {NotificationDelivery.status: "sending", NotificationDelivery.lease_until: lease}
        ).where(NotificationDelivery.id.is_in(ids))
    return await NotificationDelivery.select(
        NotificationDelivery.id,
        NotificationDelivery.attempts,
        NotificationDelivery.notification.all_columns(),
        NotificationDelivery.notification.user.username.as_alias("username"),
        NotificationDelivery.notification.user.display_name.as_alias("display_name"),
    ).where(NotificationDelivery.id.is_in(ids)).output(nested=True)


def _payload(row: dict) -> bytes:
    note = row["notification"]
    return msgspec.json.encode(
        {
            "delivery_id": str(row["id"]),
            "notification_id": str(note["id"]),
            "kind": note["kind"],
            "title": note["title"],
            "body": note["body"],
            "entity_type": note["entity_type"],
            "entity_id": note["entity_id"],
            "created_at": note["created_at"].isoformat(),
            "user": {"id": str(note["user"]), "username": row["username"], "display_name": row["display_name"]},
        }
    )


async def deliver_due(settings: Settings, *, now: dt.datetime | None = None) -> DeliveryRun:
    """Send every delivery that is due once; record each attempt."""
    config = settings.notifications
    run = DeliveryRun()
    if not config.webhook_url:
        return run
    now = now or dt.datetime.now(dt.UTC)
    rows = await _claim(settings, now)
    if not rows:
        return run
    async with httpx.AsyncClient(timeout=config.webhook_timeout_s, follow_redirects=False) as client:
        for row in rows:
            body = _payload(row)
            headers = {
                "Content-Type": "application/json; charset=utf-8",
                "X-Fieldcheck-Delivery": str(row["id"]),
                "X-Fieldcheck-Signature": signature(config.webhook_secret, int(now.timestamp()), body),
            }
            started = time.perf_counter()
            status_code, error = None, ""
            try:
                response = await client.post(config.webhook_url, content=body, headers=headers)
                status_code = response.status_code
                if not 200 <= status_code < 300:
                    error = f"HTTP {status_code}: {response.text[:200]}"
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"[:500]
            elapsed = int((time.perf_counter() - started) * 1000)
            await _record(row, now, status_code, error, elapsed, config.webhook_max_attempts, run)
    return run


async def _record(
    row: dict, now: dt.datetime, status_code: int | None, error: str, elapsed_ms: int, max_attempts: int, run: DeliveryRun
) -> None:
    attempts = row["attempts"] + 1
    async with database.transaction():
        await DeliveryAttempt.insert(
            DeliveryAttempt(id=uuid.uuid4(), delivery=row["id"], at=now, status_code=status_code, error=error,
                            duration_ms=elapsed_ms)
        )
        if not error:
            changes = {NotificationDelivery.status: "delivered", NotificationDelivery.delivered_at: now}
            run.delivered += 1
        elif attempts >= max_attempts:
            changes = {NotificationDelivery.status: "failed"}
            run.given_up += 1
        else:
            changes = {NotificationDelivery.status: "pending", NotificationDelivery.next_attempt_at: now + retry_wait(attempts)}
            run.retried += 1
        await NotificationDelivery.update(
            {**changes, NotificationDelivery.attempts: attempts, NotificationDelivery.last_error: error,
             NotificationDelivery.lease_until: None}
        ).where(NotificationDelivery.id == row["id"])



