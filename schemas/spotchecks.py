"""Wire types of random spot checks (双随机、一公开).

A supervisor defines a :class:`CampaignCreate`, draws it (the seed's hash and
the pool's hash are committed to the audit chain first), and the drawn tasks
reach the teams' phones as :class:`AssignedTask` records (entity type
``spot_check_task``). Before a covert task's release that record carries only
the date and the district: ``enterprise_id`` and ``inspection_id`` are absent,
and nothing else about the target is sent anywhere.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

import msgspec

from schemas.base import Input, Struct
from schemas.vocab import District, RiskGrade, Sector, StandardizationLevel

CampaignName = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
CampaignLabel = Annotated[str, msgspec.Meta(max_length=64)]
RedrawReason = Annotated[str, msgspec.Meta(max_length=500)]
#: ``sector:grade`` as in the cap table, e.g. ``coal_mining:B`` or ``industry_trade:level_2``.
CapKey = Annotated[str, msgspec.Meta(pattern=r"^[a-z_]{1,32}:[A-Za-z0-9_]{1,16}$")]
ReleaseTime = Annotated[str, msgspec.Meta(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]
Weekday = Annotated[int, msgspec.Meta(ge=1, le=7)]

TaskStatus = Literal["drawn", "released", "done", "cancelled"]


class TargetFilter(Input, kw_only=True):
    """Which enterprises enter the pool (检查对象名录库); an empty list means any."""

    sectors: Annotated[list[Sector], msgspec.Meta(max_length=16)] = []
    districts: Annotated[list[District], msgspec.Meta(max_length=16)] = []
    risk_grades: Annotated[list[RiskGrade], msgspec.Meta(max_length=8)] = []
    standardization_levels: Annotated[list[StandardizationLevel], msgspec.Meta(max_length=8)] = []
    major_hazard_source: bool | None = None


class CampaignRules(Input, kw_only=True):
    """Everything that decides a campaign's draw (echoed back as the campaign's rules)."""

    filters: TargetFilter = msgspec.field(default_factory=TargetFilter)
    include_suspended: bool = False
    exclude_inspected_within_days: Annotated[int, msgspec.Meta(ge=0, le=3650)] = 0
    annual_caps: Annotated[dict[CapKey, Annotated[int, msgspec.Meta(ge=0, le=365)]], msgspec.Meta(max_length=64)] = {}
    """Overrides of the default per-enterprise annual caps (山西省应急管理厅 2025 table)."""
    sample_size: Annotated[int, msgspec.Meta(ge=1, le=100_000)] | None = None
    sample_percent: Annotated[float, msgspec.Meta(gt=0, le=100)] | None = None
    stratify_by: Literal["none", "sector", "district"] = "none"
    team_size: Annotated[int, msgspec.Meta(ge=1, le=6)] = 2
    inspector_department_ids: Annotated[list[uuid.UUID], msgspec.Meta(max_length=16)] = []
    """Departments whose officers form the inspector pool (执法检查人员名录库); empty = every department."""
    certified_only: bool = True
    match_district: bool = False
    weekdays: Annotated[list[Weekday], msgspec.Meta(min_length=1, max_length=7)] = msgspec.field(
        default_factory=lambda: [1, 2, 3, 4, 5]
    )
    release_time: ReleaseTime = "07:00"
    """Local time on the planned day at which a covert task's target is released to its team."""


class CampaignCreate(Input, kw_only=True):
    """A spot-check campaign (抽查计划): period, label such as a 重点时段, announced or covert."""

    name: CampaignName
    label: CampaignLabel = ""
    period_start: dt.date
    period_end: dt.date
    covert: bool = True
    enforcement: bool = True
    rules: CampaignRules = msgspec.field(default_factory=CampaignRules)


class Campaign(Struct, kw_only=True):
    id: uuid.UUID
    name: str
    label: str
    period_start: dt.date
    period_end: dt.date
    covert: bool
    enforcement: bool
    rules: CampaignRules
    status: str
    department_id: uuid.UUID | None = None
    created_by: uuid.UUID | None = None
    created_at: dt.datetime


class DrawRequest(Input, kw_only=True):
    """Draw a campaign; a second draw (重新抽取) needs a recorded reason."""

    reason: RedrawReason = ""


class ExclusionCount(Struct, kw_only=True):
    reason: str
    label: str
    count: int


class StratumCount(Struct, kw_only=True):
    key: str
    label: str
    count: int


class PoolPreview(Struct, kw_only=True):
    """What a draw made now would draw from (no seed, nothing recorded): the campaign supervisor's check before drawing."""

    campaign_id: uuid.UUID
    as_of_date: dt.date
    enterprises: int
    eligible_count: int
    sample_size: int
    excluded: list[ExclusionCount] = msgspec.field(default_factory=list)
    strata: list[StratumCount] = msgspec.field(default_factory=list)
    inspectors: int = 0
    certified_inspectors: int = 0


class Draw(Struct, kw_only=True):
    """One draw: its commitment (hashes) and, once revealed, what it produced."""

    id: uuid.UUID
    campaign_id: uuid.UUID
    attempt: int
    algorithm_version: str
    seed_hash: str
    pool_hash: str
    result_hash: str = ""
    revealed: bool = False
    superseded: bool = False
    reason: str = ""
    drawn_by: uuid.UUID | None = None
    drawn_at: dt.datetime
    eligible_count: int = 0
    sample_size: int = 0
    task_count: int = 0
    excluded: list[ExclusionCount] = []
    seed_hex: str | None = None
    """The seed itself: shown to the campaign's supervisor only, so the draw can be re-run elsewhere."""


class SpotCheckTask(Struct, kw_only=True):
    """A drawn task as the campaign's supervisor sees it (target included)."""

    id: uuid.UUID
    campaign_id: uuid.UUID
    draw_id: uuid.UUID
    index: int
    enterprise_id: uuid.UUID
    enterprise_name: str
    district: District
    planned_date: dt.date
    release_at: dt.datetime
    released_at: dt.datetime | None = None
    team: list[uuid.UUID]
    inspection_id: uuid.UUID | None = None
    status: TaskStatus
    overdue: bool = False


class AssignedTask(Struct, kw_only=True):
    """A spot-check task as its team sees it (API and sync, entity type ``spot_check_task``).

    Before release only the day and the district are known; ``enterprise_id``
    and ``inspection_id`` appear at release.
    """

    id: uuid.UUID
    planned_date: dt.date
    district: District
    release_at: dt.datetime
    released: bool = False
    covert: bool = True
    team: list[uuid.UUID] = []
    enterprise_id: uuid.UUID | None = None
    inspection_id: uuid.UUID | None = None
    status: TaskStatus = "drawn"


class CampaignProgress(Struct, kw_only=True):
    """Counts a supervisor or leader follows (no targets)."""

    campaign_id: uuid.UUID
    status: str
    drawn: int
    released: int
    done: int
    overdue: int
    cancelled: int


class VerifyCheck(Struct, kw_only=True):
    name: str
    ok: bool
    detail: str = ""


class DrawDifference(Struct, kw_only=True):
    path: str
    stored: Any = None
    recomputed: Any = None


class DrawVerification(Struct, kw_only=True):
    """The re-run of a recorded draw: ``ok`` only if every check holds and nothing differs."""

    draw_id: uuid.UUID
    algorithm_version: str
    ok: bool
    checks: list[VerifyCheck]
    differences: list[DrawDifference] = []


class DrawInputs(Struct, kw_only=True):
    """A draw's recorded inputs and result, to re-run it with any implementation of its algorithm."""

    draw_id: uuid.UUID
    algorithm_version: str
    seed_hex: str
    seed_hash: str
    pool_hash: str
    result_hash: str
    pool_snapshot: Any
    result: Any


class PublicResult(Struct, kw_only=True):
    """One line of the 一公开 list: enterprise, date, outcome; nothing personal."""

    campaign: str
    enterprise_name: str
    credit_code: str
    district: str
    sector: str
    inspection_date: dt.date
    outcome: str
    general_hazards: int
    major_hazards: int
