"""Spot-check tasks as people read them: an inspector's own, a campaign's list, its progress counts.

An inspector sees their own tasks, before release only day and district (no
inspection exists yet, so no inspection, enterprise, template or hazard scope
can reach the phone either); a campaign's targets and teams are for its own
supervisor; its progress (counts only) for whoever may read the campaign.
The status ``done`` is stored when the check is signed (:mod:`server.spotchecks.completion`).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter
from typing import Any

from schemas import spotchecks as wire
from schemas.vocab import Role
from server.accounts.policy import Actor
from server.context import Context
from server.errors import PermissionDenied
from server.spotchecks import campaigns
from server.spotchecks.tables import Campaign, SpotCheckTask


TASK_ENTITY = "spot_check_task"


def assigned(task: dict[str, Any], campaign: dict[str, Any]) -> wire.AssignedTask:
    """What the team sees: before release the day and district only."""
    released = task["released_at"] is not None
    return wire.AssignedTask(
        id=task["id"],
        planned_date=task["planned_date"],
        district=task["district"],
        release_at=task["release_at"],
        released=released,
        covert=campaign["covert"],
        team=[uuid.UUID(u) for u in task["team"]],
        enterprise_id=task["enterprise"] if released else None,
        inspection_id=task["inspection"] if released else None,
        status=task["status"],
    )


async def my_tasks(actor: Actor) -> list[wire.AssignedTask]:
    """An inspector's own spot-check tasks (redacted until release)."""
    if actor.role != Role.INSPECTOR or actor.user_id is None:
        raise PermissionDenied("只有执法检查人员有抽查任务", "only inspectors have spot-check tasks")
    me = str(actor.user_id)
    rows = await SpotCheckTask.select().where(SpotCheckTask.status != "cancelled").output(load_json=True)
    mine = [r for r in rows if me in r["team"]]
    campaign_of = {
        c["id"]: c
        for c in await Campaign.select(Campaign.id, Campaign.covert).where(
            Campaign.id.is_in(list({r["campaign"] for r in mine}) or [uuid.uuid4()])
        )
    }
    return [
        assigned(r, campaign_of[r["campaign"]])
        for r in sorted(mine, key=lambda r: (r["planned_date"], str(r["id"])))
    ]


def _task_state(row: dict[str, Any], today: dt.date) -> tuple[str, bool]:
    status = row["status"]  # ``done`` is stored when the check is signed (spotchecks.completion)
    overdue = status in ("drawn", "released") and row["planned_date"] < today
    return status, overdue


async def list_tasks(ctx: Context, actor: Actor, campaign_id: uuid.UUID) -> list[wire.SpotCheckTask]:
    """The campaign's targets and teams: for its own supervisor only."""
    await campaigns.owned_campaign(actor, campaign_id)
    rows = await SpotCheckTask.select(
        *SpotCheckTask.all_columns(), SpotCheckTask.enterprise.name
    ).where(SpotCheckTask.campaign == campaign_id).order_by(SpotCheckTask.draw.attempt).order_by(
        SpotCheckTask.position
    ).output(load_json=True)
    today = ctx.today()
    tasks = []
    for r in rows:
        status, overdue = _task_state(r, today)
        tasks.append(
            wire.SpotCheckTask(
                id=r["id"],
                campaign_id=r["campaign"],
                draw_id=r["draw"],
                index=r["position"],
                enterprise_id=r["enterprise"],
                enterprise_name=r["enterprise.name"],
                district=r["district"],
                planned_date=r["planned_date"],
                release_at=r["release_at"],
                released_at=r["released_at"],
                team=[uuid.UUID(u) for u in r["team"]],
                inspection_id=r["inspection"],
                status=status,
                overdue=overdue,
            )
        )
    return tasks


async def progress(ctx: Context, actor: Actor, campaign_id: uuid.UUID) -> wire.CampaignProgress:
    """Drawn, released, done, overdue: counts only, no targets."""
    campaign = await campaigns.readable_campaign(actor, campaign_id)
    rows = await SpotCheckTask.select(
        SpotCheckTask.status, SpotCheckTask.inspection, SpotCheckTask.planned_date
    ).where(SpotCheckTask.campaign == campaign_id)
    today = ctx.today()
    counts: Counter[str] = Counter()
    for r in rows:
        status, overdue = _task_state(r, today)
        counts[status] += 1
        counts["overdue"] += overdue
    live = sum(counts[s] for s in ("drawn", "released", "done"))
    return wire.CampaignProgress(
        campaign_id=campaign_id,
        status=campaign["status"],
        drawn=live,
        released=counts["released"] + counts["done"],
        done=counts["done"],
        overdue=counts["overdue"],
        cancelled=counts["cancelled"],
    )
