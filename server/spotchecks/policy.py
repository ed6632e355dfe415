"""The spot-check draw (双随机): a pure, versioned, re-implementable algorithm.

Nothing here does I/O. The service freezes a :class:`PoolSnapshot` (the rules
and every candidate enterprise and inspector), draws a 32-byte seed from
``secrets``, commits ``seed_hash`` and ``pool_hash`` to the audit chain, and
only then calls :func:`draw`. Anyone holding the snapshot and the seed can
re-run the draw in any language by following the specification below;
:func:`verify` does exactly that and names every field that differs.

Algorithm ``fc-draw-v1``
========================

Notation. ``H(x)`` is SHA-256. ``K`` is the seed (32 bytes). ``R(label, p1, p2, …)``
is ``HMAC-SHA256(key=K, msg=label ‖ 0x1F ‖ p1 ‖ 0x1F ‖ p2 …)`` with every part
UTF-8 encoded; two ``R`` values are compared as 32-byte big-endian unsigned
integers (plain byte order). Ids are lowercase UUID strings.

Canonical JSON (``canonical``): the value as JSON with object keys sorted by
code point, no whitespace (``","`` and ``":"``), non-ASCII written as UTF-8,
dates ``YYYY-MM-DD``, instants ``YYYY-MM-DDTHH:MM:SSZ`` in UTC. No floats occur.

1. ``seed_hash = hex(H(K))``; ``pool_hash = hex(H(canonical(snapshot)))``.
2. Eligibility. Enterprises are taken in ascending id order. One that does not
   match the filters (each empty filter list matches everything) is ignored.
   Otherwise the first of these reasons that applies excludes it, and the
   exclusion is recorded:
   ``not_operating`` (status ``closed``, or ``suspended`` unless the rules
   include suspended ones); ``recent`` (``last_inspected_date`` is less than
   ``exclude_inspected_within_days`` days before ``as_of_date``); ``annual_cap``
   (``inspections_this_year + 1`` would exceed the cap of its ``cap_key``).
3. Sample size. ``n = sample_size`` if given, else ``ceil(E × sample_bp / 10000)``
   where ``E`` is the number of eligible enterprises; ``n = min(n, E)``.
4. Strata. The stratum of an enterprise is ``""`` (no stratification), its
   sector or its district. Stratum ``h`` with ``N_h`` eligible members gets
   ``floor(n × N_h / E)``; the ``n − Σ`` places left over go one each to the
   strata with the largest remainder ``(n × N_h) mod E``, ties broken by the
   smaller ``R("stratum", h)``.
5. Targets and teams. Eligible enterprises are walked in ascending
   ``(R("target", id), id)``. One whose stratum is already full is passed
   over. Otherwise a team is formed (6); if none can be, the enterprise is
   excluded with ``no_team`` and the walk goes on; if one is, it becomes the
   next task and each member's load grows by one. The walk stops when every
   stratum is full.
6. A team for enterprise ``e``. Candidates are the inspectors (ascending id)
   who are certified when the rules require it, in one of the rules'
   departments when any are given, cover ``e``'s district when the rules ask
   for it, and have no declared conflict (回避) with ``e``. They are ordered by
   ``(load, R("inspector", e.id, inspector.id))``. A depth-first search in that
   order picks the first ``team_size`` candidates of which no two form a
   forbidden pair for ``e`` (they inspected ``e`` together before), expanding
   at most ``SEARCH_LIMIT`` nodes. Team members keep the order picked; the
   first is the lead.
7. Dates. Days are those from ``max(start_date, as_of_date)`` to ``end_date``
   whose ISO weekday (Monday 1 … Sunday 7) is in ``weekdays``. Tasks, in the
   order made, each take the day with the smallest
   ``(members already busy that day, tasks already that day,
   R("date", e.id, day))``.
8. Release. Covert tasks are released at ``release_minute`` minutes after
   local midnight of their day, local time being UTC + ``utc_offset_minutes``;
   announced tasks carry no release time (they are visible once drawn).
9. ``result_hash = hex(H(canonical(result)))``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Literal

import msgspec

from server.errors import InvalidInput

ALGORITHM_VERSION = "fc-draw-v1"

#: Most depth-first nodes one team search may expand before the target counts as unstaffable.
SEARCH_LIMIT = 20_000

Stratify = Literal["none", "sector", "district"]
ExclusionReason = Literal["not_operating", "recent", "annual_cap", "no_team"]

EXCLUSION_LABELS: dict[str, str] = {
    "not_operating": "非正常生产经营",
    "recent": "近期已检查",
    "annual_cap": "已达年度检查频次上限",
    "no_team": "回避后无法组成检查组",
}

# Maximum inspections per enterprise per year (山西省应急管理厅, 2025-04-23).
# Mines are capped by risk grade, 危化/冶金 and the other (非高危) sectors by
# 标准化 level. The generic 矿山 sector takes the 非煤矿山 row (our choice: the
# source has no row for it). Campaigns may override any entry.
DEFAULT_ANNUAL_CAPS: dict[str, int] = {
    "coal_mining:A": 2,
    "coal_mining:B": 4,
    "coal_mining:C": 6,
    "coal_mining:D": 4,
    "non_coal_mining:A": 1,
    "non_coal_mining:B": 1,
    "non_coal_mining:C": 2,
    "non_coal_mining:D": 4,
    "mining:A": 1,
    "mining:B": 1,
    "mining:C": 2,
    "mining:D": 4,
    "hazardous_chemicals:level_1": 2,
    "hazardous_chemicals:level_2": 4,
    "hazardous_chemicals:level_3": 8,
    "hazardous_chemicals:ungraded": 12,
    "metallurgy:level_1": 2,
    "metallurgy:level_2": 4,
    "metallurgy:level_3": 8,
    "metallurgy:ungraded": 12,
    "industry_trade:level_1": 1,
    "industry_trade:level_2": 2,
    "industry_trade:level_3": 4,
    "industry_trade:ungraded": 6,
}

_GRADED_BY_RISK = frozenset({"coal_mining", "non_coal_mining", "mining"})


class _Frozen(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Inputs and outputs of the draw: immutable, and encoded the same way by everyone.

    msgspec applies ``kw_only`` only to the class that sets it, so each subclass repeats it.
    """


class TargetFilter(_Frozen, kw_only=True):
    """Which enterprises enter the pool; an empty tuple means any."""

    sectors: tuple[str, ...] = ()
    districts: tuple[str, ...] = ()
    risk_grades: tuple[str, ...] = ()
    standardization_levels: tuple[str, ...] = ()
    major_hazard_source: bool | None = None


class DrawRules(_Frozen, kw_only=True):
    """Every campaign setting that changes the outcome of a draw."""

    campaign_id: str
    attempt: int
    as_of_date: dt.date
    start_date: dt.date
    end_date: dt.date
    filters: TargetFilter = TargetFilter()
    include_suspended: bool = False
    exclude_inspected_within_days: int = 0
    annual_caps: tuple[tuple[str, int], ...] = ()
    sample_size: int | None = None
    sample_bp: int | None = None
    stratify_by: Stratify = "none"
    team_size: int = 2
    enforcement: bool = True
    require_certified: bool = True
    inspector_departments: tuple[str, ...] = ()
    match_district: bool = False
    weekdays: tuple[int, ...] = (1, 2, 3, 4, 5)
    covert: bool = True
    release_minute: int = 7 * 60
    utc_offset_minutes: int = 8 * 60


class PoolEnterprise(_Frozen, kw_only=True):
    id: str
    sector: str
    district: str
    risk_grade: str
    standardization_level: str
    major_hazard_source: bool = False
    operating_status: str = "operating"
    last_inspected_date: dt.date | None = None
    inspections_this_year: int = 0


class PoolInspector(_Frozen, kw_only=True):
    id: str
    department: str | None = None
    certified: bool = False
    districts: tuple[str, ...] = ()


class PoolSnapshot(_Frozen, kw_only=True):
    """The frozen inputs of one draw; its canonical JSON is what ``pool_hash`` covers."""

    algorithm_version: str = ALGORITHM_VERSION
    rules: DrawRules
    enterprises: tuple[PoolEnterprise, ...]
    inspectors: tuple[PoolInspector, ...]
    conflicts: tuple[tuple[str, str], ...] = ()
    """(inspector id, enterprise id): declared 回避."""
    past_pairs: tuple[tuple[str, str, str], ...] = ()
    """(enterprise id, inspector a, inspector b) with a < b: the two inspected it together before."""


class Exclusion(_Frozen, kw_only=True):
    enterprise_id: str
    reason: ExclusionReason


class StratumAllocation(_Frozen, kw_only=True):
    key: str
    eligible: int
    allocated: int
    drawn: int


class DrawnTask(_Frozen, kw_only=True):
    index: int
    enterprise_id: str
    district: str
    stratum: str
    team: tuple[str, ...]
    planned_date: dt.date
    release_at: dt.datetime | None = None


class DrawResult(_Frozen, kw_only=True):
    algorithm_version: str
    seed_hash: str
    pool_hash: str
    eligible_count: int
    sample_size: int
    strata: tuple[StratumAllocation, ...]
    tasks: tuple[DrawnTask, ...]
    excluded: tuple[Exclusion, ...]


class Difference(_Frozen, kw_only=True):
    """One place where a stored draw and its re-run disagree."""

    path: str
    stored: Any
    recomputed: Any


# --- hashing -----------------------------------------------------------------


def canonical(value: Any) -> bytes:
    """The canonical JSON bytes of a snapshot or result (see the module docstring)."""
    builtins = msgspec.to_builtins(value) if isinstance(value, msgspec.Struct) else value
    return json.dumps(
        builtins, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def seed_hash(seed: bytes) -> str:
    return sha256_hex(seed)


def pool_hash(snapshot: PoolSnapshot) -> str:
    return sha256_hex(canonical(snapshot))


def result_hash(result: DrawResult) -> str:
    return sha256_hex(canonical(result))


def _rank(seed: bytes, label: str, *parts: str) -> bytes:
    message = "\x1f".join((label, *parts)).encode("utf-8")
    return hmac.new(seed, message, hashlib.sha256).digest()


# --- rules -------------------------------------------------------------------


def cap_key(enterprise: PoolEnterprise) -> str:
    """``sector:grade``: mines by risk grade, everything else by 标准化 level."""
    if enterprise.sector in _GRADED_BY_RISK:
        return f"{enterprise.sector}:{enterprise.risk_grade}"
    return f"{enterprise.sector}:{enterprise.standardization_level}"


def annual_caps(overrides: Mapping[str, int] | None = None) -> tuple[tuple[str, int], ...]:
    """The cap table a draw records: defaults with the campaign's overrides applied, sorted."""
    merged = dict(DEFAULT_ANNUAL_CAPS)
    for key, cap in (overrides or {}).items():
        if cap < 0:
            raise InvalidInput("年度检查频次上限不能为负数", "an annual cap cannot be negative", field="annual_caps")
        merged[key] = cap
    return tuple(sorted(merged.items()))


def matches(enterprise: PoolEnterprise, filters: TargetFilter) -> bool:
    return (
        (not filters.sectors or enterprise.sector in filters.sectors)
        and (not filters.districts or enterprise.district in filters.districts)
        and (not filters.risk_grades or enterprise.risk_grade in filters.risk_grades)
        and (
            not filters.standardization_levels
            or enterprise.standardization_level in filters.standardization_levels
        )
        and (filters.major_hazard_source is None or enterprise.major_hazard_source == filters.major_hazard_source)
    )


def exclusion_reason(enterprise: PoolEnterprise, rules: DrawRules) -> ExclusionReason | None:
    """Why an enterprise that matches the filters may not be drawn, or None."""
    status = enterprise.operating_status
    if status == "closed" or (status != "operating" and not (rules.include_suspended and status == "suspended")):
        return "not_operating"
    last = enterprise.last_inspected_date
    if last is not None and (rules.as_of_date - last).days < rules.exclude_inspected_within_days:
        return "recent"
    cap = dict(rules.annual_caps).get(cap_key(enterprise))
    if cap is not None and enterprise.inspections_this_year + 1 > cap:
        return "annual_cap"
    return None


def check_rules(rules: DrawRules) -> None:
    """Refuse settings under which no lawful draw exists, naming the field."""
    if rules.team_size < 1:
        raise InvalidInput("检查组至少一人", "a team needs at least one inspector", field="team_size")
    if rules.enforcement and rules.team_size < 2:
        raise InvalidInput(
            "执法检查须由两名以上持证执法人员实施", "an enforcement check needs at least two officers", field="team_size"
        )
    if rules.enforcement and not rules.require_certified:
        raise InvalidInput(
            "执法检查人员须持有执法证", "enforcement checks need certified officers", field="require_certified"
        )
    if (rules.sample_size is None) == (rules.sample_bp is None):
        raise InvalidInput(
            "抽查数量与抽查比例须且只能填写一项", "give exactly one of sample size and sample ratio", field="sample_size"
        )
    if rules.sample_size is not None and rules.sample_size < 1:
        raise InvalidInput("抽查数量至少为 1", "the sample size must be at least 1", field="sample_size")
    if rules.sample_bp is not None and not 1 <= rules.sample_bp <= 10_000:
        raise InvalidInput("抽查比例须在 0.01% 到 100% 之间", "the sample ratio is out of range", field="sample_ratio")
    if rules.end_date < rules.start_date:
        raise InvalidInput("结束日期早于开始日期", "the period ends before it starts", field="end_date")
    if not rules.weekdays or any(not 1 <= d <= 7 for d in rules.weekdays):
        raise InvalidInput("检查日须为周一至周日中的若干天", "weekdays must be ISO weekdays 1..7", field="weekdays")
    if not 0 <= rules.release_minute < 24 * 60:
        raise InvalidInput("发布时刻无效", "the release time is out of range", field="release_time")
    if not _days(rules):
        raise InvalidInput(
            "抽查期间内没有可安排的检查日", "no inspection day is left in the period", field="end_date"
        )


def _days(rules: DrawRules) -> list[dt.date]:
    first = max(rules.start_date, rules.as_of_date)
    count = (rules.end_date - first).days + 1
    days = (first + dt.timedelta(days=i) for i in range(max(count, 0)))
    return [d for d in days if d.isoweekday() in rules.weekdays]


def stratum_of(enterprise: PoolEnterprise, stratify_by: Stratify) -> str:
    """The stratum an eligible enterprise is allocated in (step 4): its sector, its district, or one for all."""
    if stratify_by == "sector":
        return enterprise.sector
    if stratify_by == "district":
        return enterprise.district
    return ""


def sample_size(eligible: int, rules: DrawRules) -> int:
    if rules.sample_size is not None:
        wanted = rules.sample_size
    else:
        assert rules.sample_bp is not None
        wanted = -(-eligible * rules.sample_bp // 10_000)  # ceiling in integers
    return min(wanted, eligible)


def allocate(sizes: Mapping[str, int], n: int, seed: bytes) -> dict[str, int]:
    """Proportional allocation of ``n`` places over strata by largest remainder (step 4)."""
    total = sum(sizes.values())
    if total == 0:
        return {key: 0 for key in sizes}
    quota = {key: n * size // total for key, size in sizes.items()}
    left = n - sum(quota.values())
    by_remainder = sorted(sizes, key=lambda key: (-(n * sizes[key] % total), _rank(seed, "stratum", key)))
    for key in by_remainder[:left]:
        quota[key] += 1
    return quota


def _team(
    enterprise: PoolEnterprise,
    snapshot: PoolSnapshot,
    seed: bytes,
    load: Mapping[str, int],
    conflicts: frozenset[tuple[str, str]],
    forbidden: frozenset[tuple[str, str, str]],
) -> tuple[str, ...] | None:
    rules = snapshot.rules
    candidates = [
        inspector.id
        for inspector in snapshot.inspectors
        if (inspector.certified or not rules.require_certified)
        and (not rules.inspector_departments or inspector.department in rules.inspector_departments)
        and (not rules.match_district or enterprise.district in inspector.districts)
        and (inspector.id, enterprise.id) not in conflicts
    ]
    candidates.sort(key=lambda i: (load[i], _rank(seed, "inspector", enterprise.id, i)))
    size = rules.team_size
    budget = [SEARCH_LIMIT]

    def compatible(picked: list[str], candidate: str) -> bool:
        return all((enterprise.id, *sorted((member, candidate))) not in forbidden for member in picked)

    def search(start: int, picked: list[str]) -> tuple[str, ...] | None:
        if len(picked) == size:
            return tuple(picked)
        for position in range(start, len(candidates) - (size - len(picked)) + 1):
            budget[0] -= 1
            if budget[0] < 0:
                return None
            candidate = candidates[position]
            if compatible(picked, candidate):
                found = search(position + 1, [*picked, candidate])
                if found is not None:
                    return found
        return None

    return search(0, [])


def _release_at(day: dt.date, rules: DrawRules) -> dt.datetime | None:
    if not rules.covert:
        return None
    local_midnight = dt.datetime.combine(day, dt.time(0, 0), tzinfo=dt.timezone.utc)
    return local_midnight + dt.timedelta(minutes=rules.release_minute - rules.utc_offset_minutes)


def _check_snapshot(snapshot: PoolSnapshot) -> None:
    if snapshot.algorithm_version != ALGORITHM_VERSION:
        raise InvalidInput(
            f"不支持的抽取算法版本 {snapshot.algorithm_version}",
            f"unknown draw algorithm {snapshot.algorithm_version}",
            field="algorithm_version",
        )
    ids = [e.id for e in snapshot.enterprises]
    if ids != sorted(set(ids)):
        raise InvalidInput("名录库快照须按编号排序且不重复", "pool enterprises must be sorted and unique")
    ids = [i.id for i in snapshot.inspectors]
    if ids != sorted(set(ids)):
        raise InvalidInput("执法人员快照须按编号排序且不重复", "pool inspectors must be sorted and unique")
    if any(a >= b for _, a, b in snapshot.past_pairs):
        raise InvalidInput("同组记录须按编号排序", "past pairs must be written with a < b")


# --- the draw ----------------------------------------------------------------


def screen(snapshot: PoolSnapshot) -> tuple[list[PoolEnterprise], list[Exclusion]]:
    """Step 2: the eligible enterprises and the recorded exclusions, both in id order."""
    eligible: list[PoolEnterprise] = []
    excluded: list[Exclusion] = []
    for enterprise in snapshot.enterprises:
        if not matches(enterprise, snapshot.rules.filters):
            continue
        reason = exclusion_reason(enterprise, snapshot.rules)
        if reason is None:
            eligible.append(enterprise)
        else:
            excluded.append(Exclusion(enterprise_id=enterprise.id, reason=reason))
    return eligible, excluded


def draw(snapshot: PoolSnapshot, seed: bytes) -> DrawResult:
    """Run ``fc-draw-v1`` on a frozen snapshot with a seed (steps 1–9 of the module docstring)."""
    _check_snapshot(snapshot)
    rules = snapshot.rules
    check_rules(rules)
    if len(seed) < 16:
        raise InvalidInput("随机种子过短", "the seed must be at least 16 bytes")

    eligible, excluded = screen(snapshot)
    n = sample_size(len(eligible), rules)
    sizes: dict[str, int] = {}
    for enterprise in eligible:
        key = stratum_of(enterprise, rules.stratify_by)
        sizes[key] = sizes.get(key, 0) + 1
    quota = allocate(sizes, n, seed)
    drawn = {key: 0 for key in sizes}

    conflicts = frozenset(snapshot.conflicts)
    forbidden = frozenset(snapshot.past_pairs)
    load = {inspector.id: 0 for inspector in snapshot.inspectors}
    chosen: list[tuple[PoolEnterprise, str, tuple[str, ...]]] = []
    remaining = sum(quota.values())
    for enterprise in sorted(eligible, key=lambda e: (_rank(seed, "target", e.id), e.id)):
        if remaining == 0:
            break
        key = stratum_of(enterprise, rules.stratify_by)
        if drawn[key] >= quota[key]:
            continue
        team = _team(enterprise, snapshot, seed, load, conflicts, forbidden)
        if team is None:
            excluded.append(Exclusion(enterprise_id=enterprise.id, reason="no_team"))
            continue
        for member in team:
            load[member] += 1
        drawn[key] += 1
        remaining -= 1
        chosen.append((enterprise, key, team))

    days = _days(rules)
    busy: dict[tuple[str, dt.date], int] = {}
    per_day: dict[dt.date, int] = {}
    tasks: list[DrawnTask] = []
    for index, (enterprise, key, team) in enumerate(chosen):
        day = min(
            days,
            key=lambda d: (
                sum(busy.get((m, d), 0) for m in team),
                per_day.get(d, 0),
                _rank(seed, "date", enterprise.id, d.isoformat()),
            ),
        )
        for member in team:
            busy[(member, day)] = busy.get((member, day), 0) + 1
        per_day[day] = per_day.get(day, 0) + 1
        tasks.append(
            DrawnTask(
                index=index,
                enterprise_id=enterprise.id,
                district=enterprise.district,
                stratum=key,
                team=team,
                planned_date=day,
                release_at=_release_at(day, rules),
            )
        )

    return DrawResult(
        algorithm_version=ALGORITHM_VERSION,
        seed_hash=seed_hash(seed),
        pool_hash=pool_hash(snapshot),
        eligible_count=len(eligible),
        sample_size=n,
        strata=tuple(
            StratumAllocation(key=key, eligible=sizes[key], allocated=quota[key], drawn=drawn[key])
            for key in sorted(sizes)
        ),
        tasks=tuple(tasks),
        excluded=tuple(sorted(excluded, key=lambda x: x.enterprise_id)),
    )


# --- verification ------------------------------------------------------------


def differences(stored: Any, recomputed: Any, path: str = "") -> list[Difference]:
    """Every leaf where two JSON-like values differ, by path (``tasks[2].team[0]``)."""
    if isinstance(stored, msgspec.Struct):
        stored = msgspec.to_builtins(stored)
    if isinstance(recomputed, msgspec.Struct):
        recomputed = msgspec.to_builtins(recomputed)
    if isinstance(stored, dict) and isinstance(recomputed, dict):
        found: list[Difference] = []
        for key in sorted(set(stored) | set(recomputed)):
            child = f"{path}.{key}" if path else str(key)
            found += differences(stored.get(key), recomputed.get(key), child)
        return found
    if isinstance(stored, list | tuple) and isinstance(recomputed, list | tuple):
        found = []
        for position in range(max(len(stored), len(recomputed))):
            a = stored[position] if position < len(stored) else None
            b = recomputed[position] if position < len(recomputed) else None
            found += differences(a, b, f"{path}[{position}]")
        return found
    if stored != recomputed:
        return [Difference(path=path or "$", stored=stored, recomputed=recomputed)]
    return []


def verify(snapshot: PoolSnapshot, seed: bytes, stored_result: Any) -> list[Difference]:
    """Re-run a draw from its recorded inputs; an empty list means the stored result is exact."""
    return differences(stored_result, msgspec.to_builtins(draw(snapshot, seed)))


def iter_pairs(team: Sequence[str]) -> Iterator[tuple[str, str]]:
    """Every unordered pair of a team, written ``(a, b)`` with ``a < b``."""
    ordered = sorted(team)
    for i, a in enumerate(ordered):
        for b in ordered[i + 1 :]:
            yield a, b


def past_pairs(teams: Iterable[tuple[str, Sequence[str]]]) -> tuple[tuple[str, str, str], ...]:
    """The snapshot's ``past_pairs`` from (enterprise id, team) history, sorted and unique."""
    return tuple(sorted({(enterprise, a, b) for enterprise, team in teams for a, b in iter_pairs(team)}))


# --- 一公开: what a published result may say ---------------------------------------------------


class CheckFindings(_Frozen, kw_only=True):
    """What an approved check's records hold, counted for its public result line."""

    unanswered_items: int
    general_hazards: int
    major_hazards: int
    hazards_with_deadline: int
    hazards_closed: int
    rectification_orders: int  # 责令限期整改 in effect for the check or its hazards


def public_outcome(f: CheckFindings) -> str:
    """The 检查结果 of a public result: only what the records support.

    未发现隐患 needs every item answered and no hazard; 已责令整改 needs an
    order in effect or every hazard carrying its rectification deadline;
    已整改销号 needs every hazard closed.
    """
    hazards = f.general_hazards + f.major_hazards
    if hazards == 0:
        if f.unanswered_items:
            return f"检查项未全部完成（{f.unanswered_items}项未填写），暂无结论"
        return "未发现隐患"
    found = f"发现一般隐患{f.general_hazards}项、重大隐患{f.major_hazards}项"
    if f.hazards_closed == hazards:
        return f"{found}，已整改销号"
    if f.rectification_orders or f.hazards_with_deadline == hazards:
        return f"{found}，已责令整改"
    return found
