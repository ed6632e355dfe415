"""Property tests of the pure hazard state machine and escalation ladder."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.hazards import EscalationStep, FiveInPlace, HazardLevel, HazardStatus
from server.errors import FieldcheckError, InvalidInput, StateConflict
from server.hazards import policy

BASE = dt.date(2023, 3, 1)

texts = st.sampled_from(["", "  ", "张三", "更换防爆电气设备", "编制专项应急预案"])
fives = st.builds(
    FiveInPlace,
    responsible_person=texts,
    measures=texts,
    funds_yuan=st.integers(0, 10**6),
    deadline_date=st.integers(-5, 60).map(lambda d: BASE + dt.timedelta(days=d)),
    contingency_plan=texts,
)


def complete(five: FiveInPlace | None, deadline: dt.date) -> bool:
    return (
        five is not None
        and all(getattr(five, f).strip() for f in ("responsible_person", "measures", "contingency_plan"))
        and five.deadline_date <= deadline
    )


@st.composite
def opened(draw):
    level = draw(st.sampled_from(HazardLevel))
    deadline = BASE + dt.timedelta(days=draw(st.integers(-3, 40)))
    five = draw(st.none() | fives)
    item_is_major = draw(st.sampled_from([None, False, True]))
    return level, deadline, five, item_is_major


@given(opened())
def test_major_hazard_never_opens_without_five_in_place(args):
    level, deadline, five, item_is_major = args
    try:
        facts = policy.open_hazard(
            level=level, deadline_date=deadline, found_date=BASE, five_in_place=five, item_is_major=item_is_major
        )
    except InvalidInput as error:
        assert error.field  # the refusal always names the field
        return
    assert facts.status is HazardStatus.FOUND
    if facts.level is HazardLevel.MAJOR:
        assert item_is_major is True
        assert complete(facts.five_in_place, facts.deadline_date)
    else:
        assert not item_is_major


def test_missing_five_in_place_names_the_field():
    with pytest.raises(InvalidInput) as caught:
        policy.open_hazard(
            level=HazardLevel.MAJOR, deadline_date=BASE, found_date=BASE, five_in_place=None, item_is_major=True
        )
    assert caught.value.field == "five_in_place"
    blank_plan = FiveInPlace(
        responsible_person="李四", measures="加装防护栏", funds_yuan=5000, deadline_date=BASE, contingency_plan=" "
    )
    with pytest.raises(InvalidInput) as caught:
        policy.open_hazard(
            level=HazardLevel.MAJOR, deadline_date=BASE, found_date=BASE, five_in_place=blank_plan, item_is_major=True
        )
    assert caught.value.field == "five_in_place.contingency_plan"


# --- random walks through the state machine ----------------------------------

events = st.one_of(
    st.just(("start",)),
    st.just(("report",)),
    st.tuples(st.just("recheck"), st.booleans(), st.none() | st.integers(0, 40)),
    st.just(("close",)),
    st.tuples(st.just("advance"), st.integers(0, 20)),
)

GOOD_FIVE = FiveInPlace(
    responsible_person="王五", measures="停用并更换储罐阀门", funds_yuan=80000, deadline_date=BASE, contingency_plan="泄漏处置预案"
)


@given(
    level=st.sampled_from(HazardLevel),
    deadline_days=st.integers(0, 30),
    script=st.lists(events, max_size=40),
    closed_start=st.booleans(),
)
def test_no_path_closes_without_a_passed_recheck(level, deadline_days, script, closed_start):
    deadline = BASE + dt.timedelta(days=deadline_days)
    five = GOOD_FIVE if level is HazardLevel.MAJOR else None
    facts = policy.open_hazard(
        level=level, deadline_date=deadline, found_date=BASE, five_in_place=five, item_is_major=level is HazardLevel.MAJOR
    )
    today = BASE
    # The harness's own memory of the latest accepted recheck, independent of the policy's flag.
    last_recheck_passed = False
    for event in script:
        before = facts
        try:
            match event:
                case ("start",):
                    facts = policy.start_rectification(facts)
                case ("report",):
                    facts = policy.report_rectification(facts)
                case ("recheck", passed, new_days):
                    new_deadline = None if new_days is None else today + dt.timedelta(days=new_days)
                    facts = policy.record_recheck(facts, passed=passed, new_deadline_date=new_deadline, today=today)
                    if before.status is not HazardStatus.CLOSED:
                        last_recheck_passed = passed
                case ("close",):
                    facts = policy.close_hazard(facts)
                case ("advance", days):
                    today += dt.timedelta(days=days)
                    facts, _ = policy.escalate(facts, today, policy.DEFAULT_LADDER)
        except (InvalidInput, StateConflict):
            assert facts == before  # a refused transition changes nothing
            continue
        if facts.status is HazardStatus.CLOSED and before.status is not HazardStatus.CLOSED:
            assert before.status is HazardStatus.RECHECKED
            assert last_recheck_passed
        if facts.level is HazardLevel.MAJOR:
            assert complete(facts.five_in_place, facts.deadline_date)
        assert facts.level is level


def test_close_refused_before_recheck_and_after_failed_one():
    facts = policy.open_hazard(
        level=HazardLevel.GENERAL, deadline_date=BASE, found_date=BASE, five_in_place=None, item_is_major=False
    )
    for step in (policy.start_rectification, policy.report_rectification):
        with pytest.raises(StateConflict):
            policy.close_hazard(facts)
        facts = step(facts)
    failed = policy.record_recheck(facts, passed=False, new_deadline_date=BASE + dt.timedelta(days=7), today=BASE)
    assert failed.status is HazardStatus.RECTIFYING
    with pytest.raises(StateConflict):
        policy.close_hazard(failed)
    passed = policy.record_recheck(policy.report_rectification(failed), passed=True, new_deadline_date=None, today=BASE)
    assert policy.close_hazard(passed).status is HazardStatus.CLOSED


def test_failed_lookback_reopens_and_needs_new_deadline():
    facts = policy.HazardFacts(status=HazardStatus.CLOSED, level=HazardLevel.GENERAL, deadline_date=BASE)
    with pytest.raises(InvalidInput) as caught:
        policy.record_recheck(facts, passed=False, new_deadline_date=None, today=BASE)
    assert caught.value.field == "new_deadline_date"
    reopened = policy.record_recheck(facts, passed=False, new_deadline_date=BASE + dt.timedelta(days=10), today=BASE)
    assert reopened.status is HazardStatus.RECTIFYING and not reopened.recheck_passed
    assert policy.record_recheck(facts, passed=True, new_deadline_date=None, today=BASE) == facts


# --- escalation exactly once per step ----------------------------------------

ladders = st.lists(st.integers(1, 40), min_size=1, max_size=4).map(
    lambda days: policy.parse_ladder(",".join(str(d) for d in sorted(days)))
)


@given(
    ladder=ladders,
    clock=st.lists(st.integers(-10, 80), max_size=30),
    failed_rechecks=st.lists(st.integers(0, 29), max_size=3),
)
def test_escalation_happens_exactly_once_per_step(ladder, clock, failed_rechecks):
    facts = policy.HazardFacts(status=HazardStatus.RECTIFYING, level=HazardLevel.GENERAL, deadline_date=BASE)
    applied: list[EscalationStep] = []
    max_overdue = 0
    for index, offset in enumerate(clock):
        today = BASE + dt.timedelta(days=offset)
        facts, steps = policy.escalate(facts, today, ladder)
        applied.extend(steps)
        max_overdue = max(max_overdue, offset)
        if index in failed_rechecks:
            facts, steps = policy.escalate_after_failed_recheck(facts, ladder)
            applied.extend(steps)
        # Exactly once: no rung twice, rungs in ladder order, level counts them.
        assert len(applied) == len(set(applied))
        assert applied == [rung.step for rung in ladder[: len(applied)]]
        assert facts.escalation_level == len(applied)
        # And none missed: every rung whose day has come has been applied.
        reached = sum(1 for rung in ladder if rung.days_overdue <= max_overdue)
        assert len(applied) >= reached
    # Running again at the same instant applies nothing.
    if clock:
        again, steps = policy.escalate(facts, BASE + dt.timedelta(days=clock[-1]), ladder)
        assert steps == () and again == facts


@settings(max_examples=50)
@given(status=st.sampled_from(HazardStatus), offset=st.integers(-5, 60))
def test_only_open_hazards_are_overdue_or_escalate(status, offset):
    facts = policy.HazardFacts(status=status, level=HazardLevel.MAJOR, deadline_date=BASE, five_in_place=GOOD_FIVE)
    today = BASE + dt.timedelta(days=offset)
    overdue = policy.is_overdue(facts, today)
    assert overdue == (status in policy.OPEN_STATES and offset > 0)
    assert bool(policy.due_steps(facts, today, policy.DEFAULT_LADDER)) == (overdue and offset >= 1)


def test_default_ladder_days():
    facts = policy.HazardFacts(status=HazardStatus.FOUND, level=HazardLevel.GENERAL, deadline_date=BASE)
    assert policy.due_steps(facts, BASE, policy.DEFAULT_LADDER) == ()
    assert policy.due_steps(facts, BASE + dt.timedelta(days=1), policy.DEFAULT_LADDER) == (
        EscalationStep.SUPERVISION_NOTICE,
    )
    assert len(policy.due_steps(facts, BASE + dt.timedelta(days=30), policy.DEFAULT_LADDER)) == 4


@pytest.mark.parametrize("text", ["", "0,3", "5,3", "a,b", "1,2,3,4,5"])
def test_bad_ladders_are_refused(text):
    with pytest.raises(ValueError):
        policy.parse_ladder(text)


# --- recheck assignment ------------------------------------------------------

ids = st.lists(st.uuids(), min_size=0, max_size=8, unique=True)


@given(pool=ids, finder_picks=st.lists(st.integers(0, 7), max_size=4), count=st.integers(1, 3), seed=st.integers())
def test_recheckers_are_never_finders_however_small_the_pool(pool, finder_picks, count, seed):
    finders = {pool[i] for i in finder_picks if i < len(pool)} | {uuid.UUID(int=seed % 2**128)}
    load = {u: (hash((u, seed)) % 5) for u in pool}
    chosen = policy.choose_recheckers(pool, finders, load, count)
    others = [u for u in pool if u not in finders]
    assert len(chosen) == len(set(chosen)) == min(count, len(others))
    assert set(chosen) <= set(others)


def test_a_finder_may_not_record_a_recheck():
    finder, other = uuid.uuid4(), uuid.uuid4()
    with pytest.raises(FieldcheckError, match="finder"):
        policy.check_rechecker(finder, {finder})
    policy.check_rechecker(other, {finder})


def test_refusals_are_domain_errors():
    facts = policy.HazardFacts(status=HazardStatus.CLOSED, level=HazardLevel.GENERAL, deadline_date=BASE)
    with pytest.raises(FieldcheckError):
        policy.start_rectification(facts)


def test_the_policy_reads_a_level_and_a_status_given_as_their_stored_text_like_their_enum_values() -> None:
    # Rows and hand-built inputs carry "major"/"found" as text; an identity check on the enum would miss them.
    for level, status in ((HazardLevel.MAJOR, HazardStatus.FOUND), ("major", "found")):
        facts = policy.HazardFacts(status=status, level=level, deadline_date=dt.date(2026, 1, 10))
        assert policy.is_listed_supervision(facts)
    closed = policy.HazardFacts(status="closed", level="major", deadline_date=dt.date(2026, 1, 10))
    assert not policy.is_listed_supervision(closed)
