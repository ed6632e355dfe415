"""Releasing drawn tasks: at each task's release time, an inspection for its team and the target to their phones.

The inspection (kind covert, a 双随机 执法检查 or a plain spot check, see
:func:`release_kind`) is created through the inspections' assignment, so the team
rules hold for it as for any other check. Announced tasks are released when
drawn (:func:`server.spotchecks.draws.reveal_draw`); covert ones by the job
that calls :func:`release_due_tasks_counted`.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from typing import Any

from schemas.vocab import InspectionKind
from server.accounts.policy import SYSTEM
from server.audit import service as audit_service
from server.checklists import service as checklists_service
from server.context import Context
from server.inspections import assignment as inspection_assignment
from server.inspections import records as inspection_records
from server.notifications import service as notifications
from server.registry import service as registry_service
from server import database
from server.spotchecks import tasks
# Both register with the inspections, so every process that releases a task has them: a released task follows
# its check (completion), a covert check stays hidden until its task is released (covert).
from server.spotchecks import completion, covert  # noqa: F401
from server.spotchecks.tables import Campaign, SpotCheckTask
from server.sync import scopes
from server.sync import service as sync_service


log = logging.getLogger("fieldcheck.spotchecks")


def release_kind(campaign: dict[str, Any]) -> InspectionKind:
    """What a released task's check is: 暗查暗访, a 双随机 执法检查 (two certified officers), or a plain 随机抽查."""
    if campaign["covert"]:
        return InspectionKind.COVERT
    return InspectionKind.ENFORCEMENT if campaign["enforcement"] else InspectionKind.SPOT_CHECK


async def release_task(ctx: Context, task: dict[str, Any], campaign: dict[str, Any], now: dt.datetime) -> None:
    """Turn a task into an inspection of its team and send the target to their phones (released at ``now``)."""
    target = await registry_service.get(SYSTEM, task["enterprise"])
    templates = await checklists_service.current_for_sector(target.sector)
    row, team = await inspection_assignment.create_for_task(
        task_id=task["id"],
        kind=release_kind(campaign),
        enterprise_id=task["enterprise"],
        template_id=templates[0].id if templates else None,
        department_id=campaign["department"],
        planned_date=task["planned_date"],
        created_by=campaign["created_by"],
        team=[uuid.UUID(u) for u in task["team"]],
    )
    inspection_id = row["id"]
    await SpotCheckTask.update(
        {SpotCheckTask.released_at: now, SpotCheckTask.status: "released", SpotCheckTask.inspection: inspection_id}
    ).where(SpotCheckTask.id == task["id"])
    audit_service.record(
        SYSTEM,
        "spot_check.release",
        tasks.TASK_ENTITY,
        task["id"],
        {"inspection_id": str(inspection_id), "campaign_id": str(campaign["id"]), "released_at": now.isoformat()},
    )
    await inspection_records.publish(inspection_id, row=row, team=team)  # the task's update leaves both alone
    # The enterprise record enters the team's replica now, through the scope the release just opened.
    await sync_service.publish("enterprise", task["enterprise"], target, scope=scopes.enterprise(task["enterprise"]))
    await notifications.notify(
        [uuid.UUID(u) for u in task["team"]], kind="covert_released" if campaign["covert"] else "spot_check_released",
        key=f"released:{task['id']}", title=f"新的{'暗访' if campaign['covert'] else '双随机'}检查任务已下达：{target.name}",
        body=f"计划日期 {task['planned_date']}，请同步后查看。", entity=("inspection", inspection_id), settings=ctx.settings, now=now,
    )
    released = {**task, "released_at": now, "status": "released", "inspection": inspection_id}
    await sync_service.publish(
        tasks.TASK_ENTITY, task["id"], tasks.assigned(released, campaign), scope=[scopes.user(u) for u in task["team"]]
    )


async def release_due_tasks(ctx: Context) -> int:
    """Release every drawn task whose release time has come (see :func:`release_due_tasks_counted`)."""
    released, _ = await release_due_tasks_counted(ctx)
    return released


async def release_due_tasks_counted(ctx: Context) -> tuple[int, int]:
    """Release every task due at ``ctx``'s time, each in its own unit of work; ``(released, failed)``.

    One task that cannot be released (its row, its team, its enterprise) is logged with its id and left
    ``drawn`` for the next run; it never holds back the others.
    """
    now = ctx.now()
    due = await SpotCheckTask.select(SpotCheckTask.id).where(
        (SpotCheckTask.status == "drawn") & (SpotCheckTask.release_at <= now)
    ).order_by(SpotCheckTask.release_at)
    released = failed = 0
    for row in due:
        try:
            async with database.transaction():
                released += await _release_if_due(ctx, row["id"], now)
        except Exception:  # one bad task must not stop the rest; it stays drawn and is retried next run
            log.exception("spot-check task %s could not be released; left for the next run", row["id"])
            failed += 1
    return released, failed


async def _release_if_due(ctx: Context, task_id: uuid.UUID, now: dt.datetime) -> int:
    query = SpotCheckTask.select().where((SpotCheckTask.id == task_id) & (SpotCheckTask.status == "drawn")).output(
        load_json=True
    )
    if database.is_postgres():
        # Two servers running the job release each task once: the other one skips the row held here.
        query = query.lock_rows("UPDATE", skip_locked=True)
    task = await query.first()
    if task is None:
        return 0
    campaign = await Campaign.select().where(Campaign.id == task["campaign"]).first()
    await release_task(ctx, task, campaign, now)
    return 1
