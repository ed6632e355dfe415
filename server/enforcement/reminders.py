"""Who must hear about a 行刑衔接 clock, and when: the head's 3-day decision and the 24-hour transfer.

The reminder job calls :func:`remind_transfer_clocks` next to the hazard deadlines. The clock and
what counts as near or passed are ``policy.transfer_clock`` / ``policy.transfer_reminder``; each case is
its own unit of work, and the notification key names the case, the clock and its deadline, so each
person is told once per clock and state however often the job runs.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from typing import Any

from schemas.enforcement import ActionStatus
from schemas.vocab import EnforcementKind, Role
from server import database, localtime
from server.accounts import service as accounts_service
from server.enforcement import policy
from server.enforcement.service import ENTITY, department_of
from server.enforcement.tables import EnforcementAction
from server.notifications import service as notifications
from server.settings import Settings

log = logging.getLogger(__name__)

_TITLES = {
    "transfer_decision_near": "涉嫌犯罪案件移送决定期限将至",
    "transfer_decision_overdue": "涉嫌犯罪案件移送决定已超期",
    "transfer_near": "涉嫌犯罪案件移送期限将至",
    "transfer_overdue": "涉嫌犯罪案件移送已超期",
}


async def _people(row: dict[str, Any]) -> set[uuid.UUID]:
    """The proposer, the head who decided, and the active supervisors of the case's department."""
    people = {u for u in (row["proposed_by"], row["decided_by"]) if u is not None}
    department = await department_of(row)
    if department is not None:
        users = await accounts_service.list_users(role=Role.SUPERVISOR, department_id=department)
        people |= {u.id for u in users if u.active}
    return people


async def remind_transfer_clocks(settings: Settings, *, now: dt.datetime | None = None) -> tuple[int, int]:
    """Notify the people of each running 行刑衔接 clock that is near or passed; ``(notifications made, cases failed)``."""
    now = now or dt.datetime.now(dt.UTC)
    zone = localtime.zone(settings.hazards.timezone)
    rows = await EnforcementAction.select(
        EnforcementAction.id, EnforcementAction.status, EnforcementAction.reason, EnforcementAction.inspection,
        EnforcementAction.hazard, EnforcementAction.proposed_by, EnforcementAction.proposed_at,
        EnforcementAction.decided_by, EnforcementAction.decided_at, EnforcementAction.transferred_at,
        EnforcementAction.enterprise.name.as_alias("enterprise_name"),
    ).where(
        (EnforcementAction.kind == EnforcementKind.JUDICIAL_TRANSFER)
        & EnforcementAction.status.is_in([ActionStatus.PROPOSED, ActionStatus.IN_EFFECT])
    )
    made = failed = 0
    for row in rows:
        status = ActionStatus(row["status"])
        clock = policy.transfer_clock(
            proposed_at=row["proposed_at"], decided_at=row["decided_at"], approved=status == ActionStatus.IN_EFFECT,
            transferred_at=row["transferred_at"], now=now,
        )
        reminder = policy.transfer_reminder(
            clock, decided=status != ActionStatus.PROPOSED, transferred=row["transferred_at"] is not None, now=now
        )
        if reminder is None:
            continue
        due = reminder.due_at.astimezone(zone).strftime("%Y-%m-%d %H:%M")
        try:
            async with database.transaction():
                made += await notifications.notify(
                    await _people(row), kind=reminder.kind, key=f"{reminder.kind}:{row['id']}:{reminder.due_at.isoformat()}",
                    title=f"{_TITLES[reminder.kind]}：{row['enterprise_name']}（期限 {due}）", body=row["reason"][:500],
                    entity=(ENTITY, row["id"]), settings=settings, now=now,
                )
        except Exception:  # one case must not stop the others; retried next run
            log.exception("行刑衔接 reminder for enforcement action %s failed", row["id"])
            failed += 1
    return made, failed
