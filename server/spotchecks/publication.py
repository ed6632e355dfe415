"""一公开: the publishable result list of a campaign, and its CSV.

Only checks a supervisor approved are published: enterprise, date, outcome and
hazard counts — no inspectors, no personal data.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from schemas import spotchecks as wire
from schemas.enforcement import ActionStatus
from schemas.vocab import District, EnforcementKind, HazardLevel, HazardStatus, InspectionStatus, Sector, label
from server.accounts.policy import Actor
from server import exports
from server.context import Context
from server.enforcement.tables import EnforcementAction
from server.hazards.tables import Hazard
from server.inspections import lifecycle as inspection_lifecycle
from server.inspections.tables import Inspection
from server.registry.tables import Enterprise
from server.spotchecks import campaigns, policy
from server.spotchecks.tables import SpotCheckTask


async def _inspection_status(inspection_ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, dict[str, Any]]:
    ids = [i for i in inspection_ids if i is not None]
    if not ids:
        return {}
    rows = await Inspection.select(Inspection.id, Inspection.status, Inspection.submitted_at).where(Inspection.id.is_in(ids))
    return {r["id"]: r for r in rows}


async def _findings(inspection_ids: list[uuid.UUID]) -> dict[uuid.UUID, policy.CheckFindings]:
    """What each check's records hold for its public line: answers, hazards, deadlines, closures, orders."""
    counts: dict[uuid.UUID, Counter[str]] = {i: Counter() for i in inspection_ids}
    for h in await Hazard.select(Hazard.inspection, Hazard.level, Hazard.deadline_date, Hazard.status).where(
        Hazard.inspection.is_in(inspection_ids)
    ):
        c = counts[h["inspection"]]
        c[h["level"]] += 1
        c["deadline"] += h["deadline_date"] is not None
        c["closed"] += h["status"] == HazardStatus.CLOSED
    orders = await EnforcementAction.select(
        EnforcementAction.inspection, EnforcementAction.hazard.inspection.as_alias("hazard_inspection")
    ).where(
        (EnforcementAction.kind == EnforcementKind.RECTIFY_ORDER)
        & (EnforcementAction.status == ActionStatus.IN_EFFECT)
        & (EnforcementAction.inspection.is_in(inspection_ids) | EnforcementAction.hazard.inspection.is_in(inspection_ids))
    )
    for o in orders:
        inspection_id = o["inspection"] if o["inspection"] in counts else o["hazard_inspection"]
        counts[inspection_id]["orders"] += 1
    templates = {
        r["id"]: r["template"]
        for r in await Inspection.select(Inspection.id, Inspection.template).where(Inspection.id.is_in(inspection_ids))
    }
    findings = {}
    for inspection_id, c in counts.items():
        unanswered = await inspection_lifecycle.unanswered_items(inspection_id, templates[inspection_id])
        findings[inspection_id] = policy.CheckFindings(
            unanswered_items=len(unanswered), general_hazards=c[HazardLevel.GENERAL], major_hazards=c[HazardLevel.MAJOR],
            hazards_with_deadline=c["deadline"], hazards_closed=c["closed"], rectification_orders=c["orders"],
        )
    return findings


async def public_results(ctx: Context, actor: Actor, campaign_id: uuid.UUID) -> list[wire.PublicResult]:
    """Checks of a campaign a supervisor approved: enterprise, date, outcome — no inspectors, no personal data.

    A check that is only submitted (not yet reviewed) or was returned is not published.
    """
    campaign = await campaigns.readable_campaign(actor, campaign_id)
    rows = await SpotCheckTask.select(SpotCheckTask.inspection, SpotCheckTask.enterprise).where(
        (SpotCheckTask.campaign == campaign_id) & (SpotCheckTask.status == "done")
    )
    states = await _inspection_status(r["inspection"] for r in rows)
    done = [r for r in rows if states.get(r["inspection"], {}).get("status") == InspectionStatus.REVIEWED]
    if not done:
        return []
    enterprises = {
        e["id"]: e
        for e in await Enterprise.select(
            Enterprise.id, Enterprise.name, Enterprise.credit_code, Enterprise.district, Enterprise.sector
        ).where(Enterprise.id.is_in([r["enterprise"] for r in done]))
    }
    findings = await _findings([r["inspection"] for r in done])
    results = []
    for r in done:
        e = enterprises[r["enterprise"]]
        found = findings[r["inspection"]]
        results.append(
            wire.PublicResult(
                campaign=campaign["name"],
                enterprise_name=e["name"],
                credit_code=e["credit_code"],
                district=label(District(e["district"])),
                sector=label(Sector(e["sector"])),
                inspection_date=ctx.local_date(states[r["inspection"]]["submitted_at"]),
                outcome=policy.public_outcome(found),
                general_hazards=found.general_hazards,
                major_hazards=found.major_hazards,
            )
        )
    return sorted(results, key=lambda x: (x.inspection_date, x.credit_code))


CSV_HEADER = ("抽查计划", "企业名称", "统一社会信用代码", "所在区县", "行业", "检查日期", "检查结果", "一般隐患数", "重大隐患数")


def results_csv(results: Sequence[wire.PublicResult]) -> str:
    """The 一公开 list as CSV (with a BOM so spreadsheet programs read the Chinese right)."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for r in results:
        writer.writerow(
            exports.safe_row((r.campaign, r.enterprise_name, r.credit_code, r.district, r.sector, r.inspection_date.isoformat(),
             r.outcome, r.general_hazards, r.major_hazards))
        )
    return out.getvalue()
