"""A spot-check task follows its check: ``done`` once the check is signed, ``released`` again when it is returned.

The stored status is what progress, the phones' task lists and the statistics
(抽查计划完成率 counts ``done``) read. :func:`follow_check` is registered with the
inspections lifecycle (``TASK_FOLLOWERS``), which runs it in the unit of work of the
submit, review or cancel that changed the check, so the two never disagree.
"""

from __future__ import annotations

import uuid

from schemas.vocab import InspectionStatus
from server.inspections import lifecycle as inspection_lifecycle
from server.spotchecks.tables import SpotCheckTask

#: Statuses of a check that complete its task.
DONE_STATUSES = frozenset({InspectionStatus.SUBMITTED, InspectionStatus.REVIEWED})


async def follow_check(task_id: uuid.UUID, status: InspectionStatus) -> None:
    """Store the task's status for its check's new ``status``."""
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


inspection_lifecycle.TASK_FOLLOWERS.register("spotchecks", follow_check)
