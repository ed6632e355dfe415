"""The pool snapshot a draw freezes: candidate enterprises, officers, 回避 and past teams.

Everything the draw (:func:`server.spotchecks.policy.draw`) depends on is read
here once and recorded in the draw row, so the draw can be re-run and checked
from its recorded inputs alone (:mod:`server.spotchecks.verification`).
An unreleased covert task never enters another draw's inputs
(:func:`server.spotchecks.covert.shown_tasks`).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter
from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

from schemas import spotchecks as wire
from schemas.vocab import InspectionStatus, Role
from server import localtime
from server.accounts import service as accounts_service
from server.inspections.tables import Inspection, InspectionInspector
from server.registry.tables import ConflictOfInterest, Enterprise
from server.spotchecks import campaigns, covert, policy
from server.spotchecks.tables import SpotCheckTask


async def _enterprise_pool(filters: wire.TargetFilter, as_of: dt.date, zone: ZoneInfo) -> list[policy.PoolEnterprise]:
    query = Enterprise.select(
        Enterprise.id,
        Enterprise.sector,
        Enterprise.district,
        Enterprise.risk_grade,
        Enterprise.standardization_level,
        Enterprise.major_hazard_source,
        Enterprise.operating_status,
    )
    if filters.sectors:
        query = query.where(Enterprise.sector.is_in([str(s) for s in filters.sectors]))
    if filters.districts:
        query = query.where(Enterprise.district.is_in([str(d) for d in filters.districts]))
    if filters.risk_grades:
        query = query.where(Enterprise.risk_grade.is_in([str(g) for g in filters.risk_grades]))
    if filters.standardization_levels:
        query = query.where(Enterprise.standardization_level.is_in([str(s) for s in filters.standardization_levels]))
    if filters.major_hazard_source is not None:
        query = query.where(Enterprise.major_hazard_source == filters.major_hazard_source)
    rows = await query
    ids = [r["id"] for r in rows]
    last: dict[uuid.UUID, dt.date] = {}
    this_year: Counter[uuid.UUID] = Counter()
    if ids:
        inspections = await Inspection.select(
            Inspection.enterprise, Inspection.status, Inspection.submitted_at, Inspection.planned_date, Inspection.created_at
        ).where(Inspection.enterprise.is_in(ids), Inspection.status != InspectionStatus.CANCELLED)
        for row in inspections:
            if row["submitted_at"] is not None:
                day = localtime.local_date(row["submitted_at"], zone)
                if day <= as_of:
                    last[row["enterprise"]] = max(day, last.get(row["enterprise"], day))
            else:
                day = row["planned_date"] or localtime.local_date(row["created_at"], zone)
            if day.year == as_of.year:
                this_year[row["enterprise"]] += 1
        # Drawn spot checks not yet turned into inspections count against the cap too.
        # An unreleased covert task is left out: its target must not show in another draw's inputs.
        pending = await SpotCheckTask.select(SpotCheckTask.enterprise, SpotCheckTask.planned_date).where(
            SpotCheckTask.enterprise.is_in(ids), SpotCheckTask.status == "drawn", covert.shown_tasks()
        )
        for row in pending:
            if row["planned_date"].year == as_of.year:
                this_year[row["enterprise"]] += 1
    return sorted(
        (
            policy.PoolEnterprise(
                id=str(r["id"]),
                sector=r["sector"],
                district=r["district"],
                risk_grade=r["risk_grade"],
                standardization_level=r["standardization_level"],
                major_hazard_source=r["major_hazard_source"],
                operating_status=r["operating_status"],
                last_inspected_date=last.get(r["id"]),
                inspections_this_year=this_year[r["id"]],
            )
            for r in rows
        ),
        key=lambda e: e.id,
    )


async def _inspector_pool(rules: wire.CampaignRules) -> list[policy.PoolInspector]:
    departments = set(rules.inspector_department_ids)
    users = [
        u for u in await accounts_service.list_users(role=Role.INSPECTOR)
        if u.active and (not departments or u.department_id in departments)
    ]
    return sorted(
        (
            policy.PoolInspector(
                id=str(u.id),
                department=str(u.department_id) if u.department_id else None,
                certified=bool((u.badge_number or "").strip()),
                districts=tuple(sorted(str(d) for d in u.districts)),
            )
            for u in users
        ),
        key=lambda i: i.id,
    )


async def _history(
    enterprise_ids: Sequence[str], inspector_ids: Sequence[str]
) -> tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str, str], ...]]:
    """Declared conflicts and past teams among the pool (for 回避 and the pair rule)."""
    enterprises = [uuid.UUID(e) for e in enterprise_ids]
    people = {uuid.UUID(i) for i in inspector_ids}
    if not enterprises or not people:
        return (), ()
    conflict_rows = await ConflictOfInterest.select(ConflictOfInterest.user, ConflictOfInterest.enterprise).where(
        ConflictOfInterest.enterprise.is_in(enterprises),
        ConflictOfInterest.user.is_in(list(people)),
        ConflictOfInterest.revoked_at.is_null(),
    )
    conflicts = tuple(sorted({(str(r["user"]), str(r["enterprise"])) for r in conflict_rows}))
    teams: dict[uuid.UUID, list[str]] = {}
    where: dict[uuid.UUID, str] = {}
    rows = await InspectionInspector.select(
        InspectionInspector.inspection, InspectionInspector.user, InspectionInspector.inspection.enterprise
    ).where(InspectionInspector.inspection.enterprise.is_in(enterprises))
    for row in rows:
        teams.setdefault(row["inspection"], []).append(str(row["user"]))
        where[row["inspection"]] = str(row["inspection.enterprise"])
    history: list[tuple[str, list[str]]] = [(where[i], team) for i, team in teams.items()]
    drawn = await SpotCheckTask.select(SpotCheckTask.enterprise, SpotCheckTask.team).where(
        SpotCheckTask.enterprise.is_in(enterprises), SpotCheckTask.status != "cancelled", covert.shown_tasks()
    ).output(load_json=True)
    history += [(str(r["enterprise"]), list(r["team"])) for r in drawn]
    return conflicts, policy.past_pairs(history)


async def build_snapshot(
    row: dict[str, Any], *, attempt: int, as_of: dt.date, zone: ZoneInfo
) -> policy.PoolSnapshot:
    """Freeze everything the draw depends on: rules, candidate enterprises and officers, 回避, past teams."""
    rules = campaigns.rules_of(row)
    enterprises = await _enterprise_pool(rules.filters, as_of, zone)
    inspectors = await _inspector_pool(rules)
    conflicts, past = await _history([e.id for e in enterprises], [i.id for i in inspectors])
    return policy.PoolSnapshot(
        rules=campaigns.draw_rules(row, rules, attempt=attempt, as_of=as_of, zone=zone),
        enterprises=tuple(enterprises),
        inspectors=tuple(inspectors),
        conflicts=conflicts,
        past_pairs=past,
    )
