"""Property tests of the pure draw (server/spotchecks/policy.py): no I/O."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections import Counter

import msgspec
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from schemas.vocab import District, RiskGrade, Sector, StandardizationLevel
from server.errors import InvalidInput
from server.spotchecks import policy
from server.spotchecks.policy import (
    DrawRules,
    PoolEnterprise,
    PoolInspector,
    PoolSnapshot,
    TargetFilter,
)

AS_OF = dt.date(2026, 3, 2)
ids = st.uuids(version=4).map(str)
seeds = st.binary(min_size=32, max_size=32)


@st.composite
def enterprises(draw: st.DrawFn) -> PoolEnterprise:
    last = draw(st.none() | st.integers(0, 45).map(lambda d: AS_OF - dt.timedelta(days=d)))
    return PoolEnterprise(
        id=draw(ids),
        sector=draw(st.sampled_from(list(Sector))).value,
        district=draw(st.sampled_from(list(District))).value,
        risk_grade=draw(st.sampled_from(list(RiskGrade))).value,
        standardization_level=draw(st.sampled_from(list(StandardizationLevel))).value,
        major_hazard_source=draw(st.booleans()),
        operating_status=draw(st.sampled_from(["operating"] * 4 + ["suspended", "closed"])),
        last_inspected_date=last,
        inspections_this_year=draw(st.sampled_from([0, 0, 0, 1, 2, 5])),
    )


@st.composite
def inspectors(draw: st.DrawFn) -> PoolInspector:
    return PoolInspector(
        id=draw(ids),
        department=draw(st.sampled_from(["d1", "d2", None])),
        certified=draw(st.sampled_from([True, True, True, False])),
        districts=tuple(sorted(draw(st.sets(st.sampled_from([d.value for d in District]), min_size=1)))),
    )


@st.composite
def target_filters(draw: st.DrawFn) -> TargetFilter:
    return TargetFilter(
        sectors=tuple(sorted(draw(st.sets(st.sampled_from([s.value for s in Sector]), min_size=2)))),
        districts=tuple(sorted(draw(st.sets(st.sampled_from([d.value for d in District]), min_size=1)))),
        risk_grades=tuple(sorted(draw(st.sets(st.sampled_from([g.value for g in RiskGrade]), max_size=3)))),
        major_hazard_source=draw(st.none() | st.booleans()),
    )


@st.composite
def snapshots(draw: st.DrawFn, *, history: bool = True) -> PoolSnapshot:
    pool = sorted(draw(st.lists(enterprises(), min_size=1, max_size=30, unique_by=lambda e: e.id)), key=lambda e: e.id)
    people = sorted(draw(st.lists(inspectors(), min_size=3, max_size=10, unique_by=lambda i: i.id)), key=lambda i: i.id)
    enforcement = draw(st.booleans())
    team_size = draw(st.integers(2, 3) if enforcement else st.integers(1, 3))
    use_ratio = draw(st.booleans())
    start = AS_OF + dt.timedelta(days=draw(st.integers(-5, 5)))
    rules = DrawRules(
        campaign_id=draw(ids),
        attempt=draw(st.integers(1, 3)),
        as_of_date=AS_OF,
        start_date=start,
        end_date=start + dt.timedelta(days=draw(st.integers(10, 40))),
        filters=draw(st.just(TargetFilter()) | target_filters()),
        include_suspended=draw(st.booleans()),
        exclude_inspected_within_days=draw(st.sampled_from([0, 7, 30, 30])),
        annual_caps=policy.annual_caps(
            draw(st.dictionaries(st.sampled_from(sorted(policy.DEFAULT_ANNUAL_CAPS)), st.integers(0, 4), max_size=3))
        ),
        sample_size=None if use_ratio else draw(st.integers(1, 12)),
        sample_bp=draw(st.integers(1, 10_000)) if use_ratio else None,
        stratify_by=draw(st.sampled_from(["none", "sector", "district"])),
        team_size=team_size,
        enforcement=enforcement,
        require_certified=enforcement or draw(st.booleans()),
        inspector_departments=draw(st.sampled_from([(), (), (), ("d1",)])),
        match_district=draw(st.sampled_from([False, False, False, True])),
        weekdays=tuple(sorted(draw(st.sets(st.integers(1, 7), min_size=1)))),
        covert=draw(st.booleans()),
        release_minute=draw(st.integers(0, 24 * 60 - 1)),
    )
    person_ids = [p.id for p in people]
    pairs = [(p, e.id) for e in pool for p in person_ids]
    conflicts = sorted(draw(st.sets(st.sampled_from(pairs), max_size=max(1, len(pool) // 3))))
    past: list[tuple[str, list[str]]] = []
    if history:
        teams = st.tuples(
            st.sampled_from([e.id for e in pool]),
            st.lists(st.sampled_from(person_ids), min_size=2, max_size=3, unique=True),
        )
        past = draw(st.lists(teams, max_size=max(1, len(pool) // 3)))
    assume(policy._days(rules))
    return PoolSnapshot(
        rules=rules,
        enterprises=tuple(pool),
        inspectors=tuple(people),
        conflicts=tuple(conflicts),
        past_pairs=policy.past_pairs(past),
    )


def by_id(snapshot: PoolSnapshot) -> dict[str, PoolEnterprise]:
    return {e.id: e for e in snapshot.enterprises}


# --- determinism and hashes ---------------------------------------------------


@settings(deadline=None)
@given(snapshots(), seeds)
def test_same_inputs_give_the_same_draw(snapshot: PoolSnapshot, seed: bytes) -> None:
    first = policy.draw(snapshot, seed)
    # Through the recorded form (canonical JSON) and back, as verify-draw does.
    recorded = msgspec.json.decode(policy.canonical(snapshot), type=PoolSnapshot)
    again = policy.draw(recorded, seed)
    assert first == again
    assert policy.canonical(first) == policy.canonical(again)
    assert policy.verify(recorded, seed, msgspec.json.decode(policy.canonical(first))) == []


@settings(deadline=None)
@given(snapshots(), seeds, st.data())
def test_any_change_to_the_pool_changes_the_pool_hash(snapshot: PoolSnapshot, seed: bytes, data: st.DataObject) -> None:
    e = data.draw(st.sampled_from(snapshot.enterprises))
    changed_enterprise = data.draw(
        st.sampled_from(
            [
                msgspec.structs.replace(e, inspections_this_year=e.inspections_this_year + 1),
                msgspec.structs.replace(e, major_hazard_source=not e.major_hazard_source),
                msgspec.structs.replace(e, district=e.district + "x"),
                msgspec.structs.replace(e, last_inspected_date=AS_OF + dt.timedelta(days=1)),
            ]
        )
    )
    variants = [
        msgspec.structs.replace(
            snapshot, enterprises=tuple(changed_enterprise if x is e else x for x in snapshot.enterprises)
        ),
        msgspec.structs.replace(snapshot, enterprises=tuple(x for x in snapshot.enterprises if x is not e)),
        msgspec.structs.replace(snapshot, rules=msgspec.structs.replace(snapshot.rules, team_size=snapshot.rules.team_size + 1)),
        msgspec.structs.replace(snapshot, conflicts=(*snapshot.conflicts, ("z-inspector", e.id))),
        msgspec.structs.replace(snapshot, inspectors=snapshot.inspectors[1:]),
    ]
    original = policy.pool_hash(snapshot)
    for variant in variants:
        assert policy.pool_hash(variant) != original
    result = policy.draw(snapshot, seed)
    assert result.pool_hash == original
    assert result.seed_hash == hashlib.sha256(seed).hexdigest()


@settings(deadline=None)
@given(snapshots(), seeds, seeds)
def test_a_different_seed_changes_the_seed_hash(snapshot: PoolSnapshot, seed: bytes, other: bytes) -> None:
    assume(seed != other)
    assert policy.draw(snapshot, seed).seed_hash != policy.draw(snapshot, other).seed_hash


# --- the rules every draw obeys -----------------------------------------------


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(snapshots(), seeds)
def test_teams_respect_conflicts_size_pairs_and_pool_rules(snapshot: PoolSnapshot, seed: bytes) -> None:
    rules = snapshot.rules
    result = policy.draw(snapshot, seed)
    people = {p.id: p for p in snapshot.inspectors}
    conflicts = set(snapshot.conflicts)
    forbidden = set(snapshot.past_pairs)
    for task in result.tasks:
        assert len(task.team) == rules.team_size == len(set(task.team))
        if rules.enforcement:
            assert len(task.team) >= 2
        for member in task.team:
            assert (member, task.enterprise_id) not in conflicts, "回避 violated"
            person = people[member]
            assert person.certified or not rules.require_certified
            assert not rules.inspector_departments or person.department in rules.inspector_departments
            assert not rules.match_district or task.district in person.districts
        for a, b in policy.iter_pairs(task.team):
            assert (task.enterprise_id, a, b) not in forbidden, "a pair repeated at the same enterprise"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(snapshots(), seeds)
def test_caps_exclusions_and_sample_size_hold(snapshot: PoolSnapshot, seed: bytes) -> None:
    rules = snapshot.rules
    result = policy.draw(snapshot, seed)
    pool = by_id(snapshot)
    caps = dict(rules.annual_caps)
    drawn = [t.enterprise_id for t in result.tasks]
    assert len(drawn) == len(set(drawn))
    for enterprise_id in drawn:
        e = pool[enterprise_id]
        assert policy.matches(e, rules.filters)
        assert e.operating_status == "operating" or (rules.include_suspended and e.operating_status == "suspended")
        assert e.last_inspected_date is None or (AS_OF - e.last_inspected_date).days >= rules.exclude_inspected_within_days
        assert e.inspections_this_year + 1 <= caps[policy.cap_key(e)]
    reasons = {x.enterprise_id: x.reason for x in result.excluded}
    assert not set(reasons) & set(drawn)
    for enterprise_id, reason in reasons.items():
        if reason != "no_team":
            assert policy.exclusion_reason(pool[enterprise_id], rules) == reason
    assert sum(s.allocated for s in result.strata) == result.sample_size <= result.eligible_count
    for stratum in result.strata:
        assert stratum.drawn <= stratum.allocated <= stratum.eligible
        assert stratum.drawn == sum(1 for t in result.tasks if t.stratum == stratum.key)
    if "no_team" not in reasons.values():
        assert len(drawn) == result.sample_size
    if rules.sample_bp is not None:
        assert result.sample_size == min(result.eligible_count, -(-result.eligible_count * rules.sample_bp // 10_000))


@settings(max_examples=200, deadline=None)
@given(snapshots(), seeds)
def test_dates_fall_in_the_period_and_release_on_the_day(snapshot: PoolSnapshot, seed: bytes) -> None:
    rules = snapshot.rules
    result = policy.draw(snapshot, seed)
    local = dt.timezone(dt.timedelta(minutes=rules.utc_offset_minutes))
    for task in result.tasks:
        assert max(rules.start_date, AS_OF) <= task.planned_date <= rules.end_date
        assert task.planned_date.isoweekday() in rules.weekdays
        if rules.covert:
            assert task.release_at is not None
            release_local = task.release_at.astimezone(local)
            assert release_local.date() == task.planned_date
            assert release_local.hour * 60 + release_local.minute == rules.release_minute
        else:
            assert task.release_at is None


@settings(max_examples=200, deadline=None)
@given(snapshots(history=False), seeds)
def test_workload_is_balanced_without_conflicts(snapshot: PoolSnapshot, seed: bytes) -> None:
    rules = msgspec.structs.replace(
        snapshot.rules, match_district=False, inspector_departments=(), require_certified=False, enforcement=False
    )
    snapshot = msgspec.structs.replace(snapshot, rules=rules, conflicts=())
    assume(len(snapshot.inspectors) >= rules.team_size)
    result = policy.draw(snapshot, seed)
    load = Counter({p.id: 0 for p in snapshot.inspectors})
    load.update(m for t in result.tasks for m in t.team)
    assert max(load.values()) - min(load.values()) <= 1


def test_an_enforcement_draw_refuses_a_team_of_one() -> None:
    snapshot = fixed_pool(4, inspectors_count=3, team_size=1)
    with pytest.raises(InvalidInput) as raised:
        policy.draw(snapshot, b"s" * 32)
    assert raised.value.field == "team_size"


def test_an_unknown_algorithm_version_is_refused() -> None:
    snapshot = msgspec.structs.replace(fixed_pool(4), algorithm_version="fc-draw-v0")
    with pytest.raises(InvalidInput):
        policy.draw(snapshot, b"s" * 32)


def test_a_target_nobody_may_inspect_is_replaced_and_recorded() -> None:
    snapshot = fixed_pool(6, inspectors_count=3)
    target = snapshot.enterprises[0].id
    # Two of three officers declared a conflict: no lawful pair is left for this enterprise.
    snapshot = msgspec.structs.replace(
        snapshot,
        conflicts=tuple(sorted((p.id, target) for p in snapshot.inspectors[:2])),
        rules=msgspec.structs.replace(snapshot.rules, sample_size=6),
    )
    result = policy.draw(snapshot, b"k" * 32)
    assert target not in {t.enterprise_id for t in result.tasks}
    assert policy.Exclusion(enterprise_id=target, reason="no_team") in result.excluded
    assert len(result.tasks) == 5


def test_recent_capped_and_closed_enterprises_are_excluded_with_their_reason() -> None:
    snapshot = fixed_pool(8, sample_size=8)
    e = snapshot.enterprises
    changed = (
        msgspec.structs.replace(e[0], last_inspected_date=AS_OF - dt.timedelta(days=6)),
        msgspec.structs.replace(e[1], last_inspected_date=AS_OF - dt.timedelta(days=7)),
        # industry_trade at 标准化 level 3: at most 4 a year (山西 table), so a fifth is refused.
        msgspec.structs.replace(e[2], inspections_this_year=4),
        msgspec.structs.replace(e[3], inspections_this_year=3),
        msgspec.structs.replace(e[4], operating_status="closed"),
        *e[5:],
    )
    rules = msgspec.structs.replace(snapshot.rules, exclude_inspected_within_days=7)
    result = policy.draw(msgspec.structs.replace(snapshot, enterprises=changed, rules=rules), b"c" * 32)
    assert {(x.enterprise_id, x.reason) for x in result.excluded} == {
        (e[0].id, "recent"),
        (e[2].id, "annual_cap"),
        (e[4].id, "not_operating"),
    }
    assert {t.enterprise_id for t in result.tasks} == {e[1].id, e[3].id, *(x.id for x in e[5:])}
    assert result.eligible_count == result.sample_size == 5


# --- verification names what differs -----------------------------------------


def test_verify_names_a_tampered_field() -> None:
    snapshot = fixed_pool(10, inspectors_count=5)
    seed = b"\x01" * 32
    stored = msgspec.json.decode(policy.canonical(policy.draw(snapshot, seed)))
    assert policy.verify(snapshot, seed, stored) == []
    swapped = next(e.id for e in snapshot.enterprises if e.id not in {t["enterprise_id"] for t in stored["tasks"]})
    stored["tasks"][1]["enterprise_id"] = swapped
    stored["tasks"][0]["team"][0] = "someone-else"
    found = policy.verify(snapshot, seed, stored)
    assert [d.path for d in found] == ["tasks[0].team[0]", "tasks[1].enterprise_id"]
    assert found[1].stored == swapped


# --- statistics: the selection is uniform (or proportional by stratum) ------

# Upper 0.1% point of chi-square with 19 degrees of freedom.
CHI2_19_999 = 43.820


def fixed_pool(
    size: int,
    *,
    inspectors_count: int = 6,
    team_size: int = 2,
    sample_size: int = 5,
    sectors: tuple[str, ...] = ("industry_trade",),
    stratify_by: policy.Stratify = "none",
) -> PoolSnapshot:
    namespace = uuid.UUID(int=7)
    pool = sorted(
        (
            PoolEnterprise(
                id=str(uuid.uuid5(namespace, f"e{i}")),
                sector=sectors[i % len(sectors)] if len(sectors) > 1 else sectors[0],
                district="shapotou",
                risk_grade="B",
                standardization_level="level_3",
            )
            for i in range(size)
        ),
        key=lambda e: e.id,
    )
    people = sorted(
        (PoolInspector(id=str(uuid.uuid5(namespace, f"p{i}")), certified=True) for i in range(inspectors_count)),
        key=lambda p: p.id,
    )
    rules = DrawRules(
        campaign_id=str(uuid.uuid5(namespace, "campaign")),
        attempt=1,
        as_of_date=AS_OF,
        start_date=AS_OF,
        end_date=AS_OF + dt.timedelta(days=30),
        annual_caps=policy.annual_caps(),
        sample_size=sample_size,
        stratify_by=stratify_by,
        team_size=team_size,
    )
    return PoolSnapshot(rules=rules, enterprises=tuple(pool), inspectors=tuple(people))


def chi_square(counts: Counter[str], expected: dict[str, float]) -> float:
    return sum((counts[key] - e) ** 2 / e for key, e in expected.items())


def fixed_seeds(count: int) -> list[bytes]:
    return [hashlib.sha256(b"fieldcheck-chi-square-%d" % i).digest() for i in range(count)]


def test_selection_frequency_is_uniform() -> None:
    snapshot = fixed_pool(20, sample_size=5)
    runs = 2000
    counts: Counter[str] = Counter()
    for seed in fixed_seeds(runs):
        counts.update(t.enterprise_id for t in policy.draw(snapshot, seed).tasks)
    expected = {e.id: runs * 5 / 20 for e in snapshot.enterprises}
    assert chi_square(counts, expected) < CHI2_19_999
    # The statistic has power: always taking the five smallest ids fails it by far.
    biased = Counter({e.id: runs for e in snapshot.enterprises[:5]})
    assert chi_square(biased, expected) > 100 * CHI2_19_999


def test_stratified_selection_is_proportional_per_stratum() -> None:
    # 6 + 14 enterprises, 5 places: quotas 1.5 and 3.5, so each stratum gets 1 or 2 / 3 or 4.
    sectors = ("industry_trade",) * 14 + ("metallurgy",) * 6
    snapshot = fixed_pool(20, sample_size=5, sectors=sectors, stratify_by="sector")
    runs = 2000
    counts: Counter[str] = Counter()
    for seed in fixed_seeds(runs):
        result = policy.draw(snapshot, seed)
        per_stratum = Counter(t.stratum for t in result.tasks)
        assert per_stratum["metallurgy"] in (1, 2) and per_stratum["industry_trade"] in (3, 4)
        assert sum(per_stratum.values()) == 5
        counts.update(t.enterprise_id for t in result.tasks)
    # Every enterprise's inclusion probability is n/N = 1/4 in both strata.
    expected = {e.id: runs / 4 for e in snapshot.enterprises}
    assert chi_square(counts, expected) < CHI2_19_999
    metallurgy = sum(counts[e.id] for e in snapshot.enterprises if e.sector == "metallurgy")
    assert abs(metallurgy / runs - 1.5) < 0.1


def test_inspectors_are_drawn_uniformly() -> None:
    snapshot = fixed_pool(20, inspectors_count=20, sample_size=1)
    runs = 2000
    counts: Counter[str] = Counter()
    for seed in fixed_seeds(runs):
        counts.update(m for t in policy.draw(snapshot, seed).tasks for m in t.team)
    expected = {p.id: runs * 2 / 20 for p in snapshot.inspectors}
    assert chi_square(counts, expected) < CHI2_19_999


# --- the docstring is the specification ---------------------------------------


def test_an_independent_reading_of_the_specification_gives_the_same_draw() -> None:
    """Steps 5–8 re-implemented from the module docstring alone, with hashlib/hmac only."""
    import hmac

    snapshot = fixed_pool(12, inspectors_count=6, sample_size=4)
    seed = hashlib.sha256(b"spec").digest()

    def r(*parts: str) -> bytes:
        return hmac.new(seed, "\x1f".join(parts).encode(), hashlib.sha256).digest()

    ranked = sorted(snapshot.enterprises, key=lambda e: (r("target", e.id), e.id))
    targets = [e.id for e in ranked[:4]]
    load = {p.id: 0 for p in snapshot.inspectors}
    teams = []
    for target in targets:
        order = sorted(load, key=lambda i: (load[i], r("inspector", target, i)))
        team = order[:2]
        for member in team:
            load[member] += 1
        teams.append(tuple(team))
    days = [AS_OF + dt.timedelta(days=n) for n in range(31) if (AS_OF + dt.timedelta(days=n)).isoweekday() <= 5]
    busy: Counter[tuple[str, dt.date]] = Counter()
    per_day: Counter[dt.date] = Counter()
    dates = []
    for target, team in zip(targets, teams):
        day = min(days, key=lambda d: (sum(busy[(m, d)] for m in team), per_day[d], r("date", target, d.isoformat())))
        busy.update((m, day) for m in team)
        per_day[day] += 1
        dates.append(day)
    release = [dt.datetime.combine(d, dt.time(7), tzinfo=dt.timezone(dt.timedelta(hours=8))) for d in dates]

    result = policy.draw(snapshot, seed)
    assert [t.enterprise_id for t in result.tasks] == targets
    assert [t.team for t in result.tasks] == teams
    assert [t.planned_date for t in result.tasks] == dates
    assert [t.release_at for t in result.tasks] == release
    assert result.pool_hash == hashlib.sha256(
        json.dumps(msgspec.to_builtins(snapshot), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    ).hexdigest()
