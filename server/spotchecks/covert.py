"""Who may see what of an unreleased covert task: the one policy every reader applies.

A covert (暗查暗访) task's target — the enterprise, its name, credit code and
district, and the team sent there — is known to the campaign's own supervisor
only, until the task is released (``released_at``, set by the release job in
the same unit of work that creates the task's inspection). Before that nothing
derived from the task may reach anyone else: no list, count, pair, statistic,
export or draw input. Announced (non-covert) tasks are released when drawn.

Readers and the piece of this module each one applies:

- targets and draw inputs of a campaign (``spotchecks.campaigns``, ``draws``, ``verification``): :func:`is_owner`,
  :func:`may_see_targets`;
- inputs of other draws, the pool snapshot (``spotchecks.pool``): :func:`shown_tasks`;
- statistics, drill-downs and exports (``stats.definitions``): :func:`shown_task_sql`;
- inspections, their sync scopes and the registry an inspector sees: the inspections own
  that side of the rule (:func:`server.inspections.access.hidden_inspections`, which the
  registry's inspector visibility applies too) and ask :func:`released_tasks`, registered
  with them below, which of their checks' tasks are released.
"""

from __future__ import annotations

import uuid
from typing import Any

from piccolo.columns.combination import Combinable

from schemas.vocab import Role
from server.accounts.policy import Actor, sees_all_departments
from server.inspections import access as inspection_access
from server.spotchecks.tables import Campaign, SpotCheckTask


def is_owner(actor: Actor, campaign: dict[str, Any]) -> bool:
    """The campaign's own supervisor: the one person who sees its targets before release."""
    return actor.role == Role.SUPERVISOR and actor.user_id is not None and campaign["created_by"] == actor.user_id


def may_see_targets(actor: Actor, campaign: dict[str, Any], *, unreleased: int) -> bool:
    """Its owner always; leaders and admins once none of the campaign's ``unreleased`` tasks is left."""
    return is_owner(actor, campaign) or (sees_all_departments(actor) and unreleased == 0)


def shown_tasks() -> Combinable:
    """Piccolo condition on :class:`SpotCheckTask`: the task may be counted where others can read it."""
    announced = Campaign.select(Campaign.id).where(Campaign.covert == False)  # noqa: E712 - SQL comparison
    return SpotCheckTask.released_at.is_not_null() | SpotCheckTask.campaign.is_in(announced)


def shown_task_sql(task: str = "t", campaign: str = "c") -> str:
    """The same condition as SQL over aliases of ``spot_check_task`` and its ``spot_check_campaign``."""
    return f"(NOT {campaign}.covert OR {task}.released_at IS NOT NULL)"


async def released_tasks(task_ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """The tasks among ``task_ids`` that are released (what the inspections ask to hide a covert check)."""
    rows = await SpotCheckTask.select(SpotCheckTask.id).where(
        SpotCheckTask.id.is_in(task_ids), SpotCheckTask.released_at.is_not_null()
    )
    return {r["id"] for r in rows}


inspection_access.RELEASED_TASKS.register("spotchecks", released_tasks)
