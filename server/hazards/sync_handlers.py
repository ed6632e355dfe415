"""What hazards register with sync: the handlers of their mutations and the recheck scopes of their phones."""

from __future__ import annotations

from schemas.hazards import AddHazard, ReportRecheck, ReportRectification
from server.hazards import lifecycle, recheck_results, rechecks
from server.sync.registry import Registry


def register(registry: Registry) -> None:
    registry.handle(AddHazard, lifecycle.apply_add_hazard)
    registry.handle(ReportRectification, lifecycle.apply_report_rectification)
    registry.handle(ReportRecheck, recheck_results.apply_report_recheck)
    registry.scopes(rechecks.sync_scopes)
