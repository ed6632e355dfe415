"""Who must hear about a hazard's deadline, and when: near (within NOTIFY_DAYS_BEFORE days) and passed.

The reminder job calls :func:`remind_deadlines`; each hazard is its own unit of
work, and the notification key names the hazard, the kind and the deadline, so
a person is told once per deadline (a new deadline after an extension is a new
reminder) however often the job runs.
"""

from __future__ import annotations

import datetime as dt
import logging

from server import database, localtime
from server.hazards import policy
from server.hazards.permissions import followers
from server.hazards.tables import Hazard
from server.notifications import service as notifications
from server.settings import Settings

log = logging.getLogger(__name__)


async def remind_deadlines(settings: Settings, *, now: dt.datetime | None = None) -> tuple[int, int]:
    """Notify each open hazard's team and its department's supervisors; ``(notifications made, hazards failed)``."""
    now = now or dt.datetime.now(dt.UTC)
    today = localtime.local_date(now, settings.hazards.timezone)
    horizon = today + dt.timedelta(days=settings.notifications.days_before)
    rows = await Hazard.select(
        Hazard.id, Hazard.deadline_date, Hazard.description,
        Hazard.enterprise.name.as_alias("enterprise_name"),
    ).where(Hazard.status.is_in(list(policy.OPEN_STATES)) & (Hazard.deadline_date <= horizon))
    made = failed = 0
    for row in rows:
        overdue = row["deadline_date"] < today
        kind = "hazard_overdue" if overdue else "hazard_deadline_near"
        deadline = row["deadline_date"].isoformat()
        title = (
            f"隐患整改已逾期：{row['enterprise_name']}（期限 {deadline}）"
            if overdue
            else f"隐患整改期限将至：{row['enterprise_name']}（{deadline}）"
        )
        try:
            async with database.transaction():
                recipients = await followers(row["id"])
                made += await notifications.notify(
                    recipients, kind=kind, key=f"{kind}:{row['id']}:{deadline}", title=title,
                    body=row["description"][:500], entity=("hazard", row["id"]), settings=settings, now=now,
                )
        except Exception:  # one hazard must not stop the others; retried next run
            log.exception("deadline reminder for hazard %s failed", row["id"])
            failed += 1
    return made, failed
