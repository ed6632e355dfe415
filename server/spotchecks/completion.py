"""A spot-check task follows its check: ``done`` once the check is signed, ``released`` again when it is returned.

The stored status is what progress, the phones' task lists and the statistics
(抽查计划完成率 counts ``done``) read. The inspections lifecycle calls
:func:`follow_check` in the unit of work of the submit or review that changed
the check, so the two never disagree.
"""

from __future__ import annotations

import uuid

from schemas.vocab import InspectionStatus
from server.spotchecks.tables import SpotCheckTask

#: Statuses of a check that complete its task.
DONE_STATUSES = frozenset({InspectionStatus.SUBMITTED, InspectionStatus.REVIEWED})


async def follow_check(task_id: uuid.UUID | None, status: InspectionStatus) -> None:
    """Store the task's status for its check's new ``status`` (nothing for a check without a task)."""
    if task_id is None:
        return
    if status in DONE_STATUSES:
        await SpotCheckTask.update({SpotCheckTask.status: "done"}).where(
            (SpotCheckTask.id == task_id) & (SpotCheckTask.status == "released")
        )
    elif status == InspectionStatus.CANCELLED:
        await SpotCheckTask.update({SpotCheckTask.status: "cancelled"}).where(
            (SpotCheckTask.id == task_id) & SpotCheckTask.status.is_in(["released", "done"])
        )
    else:
        await SpotCheckTask.update({SpotCheckTask.status: "released"}).where(
            (SpotCheckTask.id == task_id) & (SpotCheckTask.status == "done")
        )
