"""The §113 counter, 法制审核 thresholds and 行刑衔接 clocks, without I/O."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.enforcement import EnforcementProposal
from schemas.vocab import EnforcementKind
from server.enforcement import policy
from server.errors import InvalidInput

TODAY = dt.date(2023, 9, 1)
OPEN_MAJOR = [policy.MajorHazardSpan(found_date=dt.date(2023, 1, 10))]


def ago(days: int, today: dt.date = TODAY) -> dt.date:
    return today - dt.timedelta(days=days)


# --- boundaries at 180 days ----------------------------------------------------


def test_three_penalties_with_the_oldest_exactly_180_days_ago_qualify():
    finding = policy.section_113(OPEN_MAJOR, [ago(180), ago(90), ago(0)], TODAY)
    assert finding is not None and finding.rule == "3_in_180_days" and finding.penalties == 3
    assert finding.window_start_date == ago(180)


def test_three_penalties_with_the_oldest_181_days_ago_do_not():
    assert policy.section_113(OPEN_MAJOR, [ago(181), ago(90), ago(0)], TODAY) is None


def test_two_penalties_in_180_days_do_not():
    assert policy.section_113(OPEN_MAJOR, [ago(10), ago(0)], TODAY) is None


# --- boundaries at one year ----------------------------------------------------


def test_four_penalties_with_the_oldest_exactly_a_year_ago_qualify():
    year_ago = dt.date(2022, 9, 1)
    finding = policy.section_113(OPEN_MAJOR, [year_ago, ago(200), ago(190), ago(0)], TODAY)
    assert finding is not None and finding.rule == "4_in_1_year" and finding.penalties == 4


def test_four_penalties_with_the_oldest_a_year_and_a_day_ago_do_not():
    day_before = dt.date(2022, 8, 31)
    assert policy.section_113(OPEN_MAJOR, [day_before, ago(200), ago(190), ago(0)], TODAY) is None


def test_leap_day_year_window():
    leap = dt.date(2024, 2, 29)
    spans = [policy.MajorHazardSpan(found_date=dt.date(2023, 1, 1))]
    # A period of a year from 28 Feb 2023 ended on 28 Feb 2024.
    assert policy.section_113(spans, [dt.date(2023, 2, 28), dt.date(2023, 6, 1), dt.date(2023, 7, 1), leap], leap) is None
    finding = policy.section_113(spans, [dt.date(2023, 3, 1), dt.date(2023, 6, 1), dt.date(2023, 7, 1), leap], leap)
    assert finding is not None and finding.rule == "4_in_1_year"


# --- the major hazard must exist in the window ------------------------------


def test_no_major_hazard_no_proposal():
    assert policy.section_113([], [ago(3), ago(2), ago(1)], TODAY) is None


def test_major_hazard_closed_before_the_window_does_not_count():
    closed_early = [policy.MajorHazardSpan(found_date=ago(400), closed_date=ago(200))]
    assert policy.section_113(closed_early, [ago(30), ago(20), ago(10)], TODAY) is None
    closed_inside = [policy.MajorHazardSpan(found_date=ago(400), closed_date=ago(100))]
    assert policy.section_113(closed_inside, [ago(30), ago(20), ago(10)], TODAY) is not None


def test_future_penalties_are_ignored():
    assert policy.section_113(OPEN_MAJOR, [ago(1), TODAY + dt.timedelta(days=1), TODAY + dt.timedelta(days=2)], TODAY) is None


# --- against an independent oracle ------------------------------------------


def add_one_year(day: dt.date) -> dt.date:
    """The day a one-year period from ``day`` ends (month end when there is no such day)."""
    try:
        return day.replace(year=day.year + 1)
    except ValueError:
        return day.replace(year=day.year + 1, day=28)


def oracle(spans, penalties, today):
    past = [d for d in penalties if d <= today]
    in_short = [d for d in past if (today - d).days <= 180]
    in_year = [d for d in past if add_one_year(d) >= today]

    short_start = today - dt.timedelta(days=180)
    year_start = next(
        today - dt.timedelta(days=n) for n in range(367, -1, -1) if add_one_year(today - dt.timedelta(days=n)) >= today
    )
    short_ok = len(in_short) >= 3 and any(
        s.found_date <= today and (s.closed_date is None or s.closed_date >= short_start) for s in spans
    )
    year_ok = len(in_year) >= 4 and any(
        s.found_date <= today and (s.closed_date is None or s.closed_date >= year_start) for s in spans
    )
    return short_ok or year_ok


days = st.integers(-5, 800)


@given(
    today=st.dates(dt.date(2020, 1, 1), dt.date(2030, 12, 31)),
    penalty_offsets=st.lists(days, max_size=8),
    hazards=st.lists(st.tuples(st.integers(0, 800), st.none() | st.integers(0, 800)), max_size=3),
)
def test_section_113_matches_the_oracle(today, penalty_offsets, hazards):
    penalties = [today - dt.timedelta(days=o) for o in penalty_offsets]
    spans = [
        policy.MajorHazardSpan(
            found_date=today - dt.timedelta(days=f),
            closed_date=None if c is None else today - dt.timedelta(days=min(c, f)),
        )
        for f, c in hazards
    ]
    finding = policy.section_113(spans, penalties, today)
    assert (finding is not None) == oracle(spans, penalties, today)


# --- proposals, review, clocks ------------------------------------------------


def proposal(**overrides):
    fields = dict(id=uuid.uuid4(), kind=EnforcementKind.FINE, reason="未按规定配备安全管理人员", inspection_id=uuid.uuid4())
    fields.update(overrides)
    return EnforcementProposal(**fields)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"amount_yuan": None}, "amount_yuan"),
        ({"kind": EnforcementKind.PUBLIC_NOTICE, "amount_yuan": 500}, "amount_yuan"),
        ({"kind": EnforcementKind.ADMONITION, "max_penalty": True}, "max_penalty"),
        ({"inspection_id": None, "amount_yuan": 500}, "inspection_id"),
        ({"kind": EnforcementKind.RECTIFY_ORDER}, "deadline_date"),
    ],
)
def test_proposal_refusals_name_the_field(overrides, field):
    with pytest.raises(InvalidInput) as caught:
        policy.check_proposal(proposal(**overrides))
    assert caught.value.field == field


def test_fine_with_amount_passes():
    policy.check_proposal(proposal(amount_yuan=20000, max_penalty=True))


def test_legal_review_thresholds():
    thresholds = policy.ReviewThresholds(fine_over_yuan=100_000)
    assert policy.needs_legal_review(EnforcementKind.FINE, 100_001, thresholds)
    assert not policy.needs_legal_review(EnforcementKind.FINE, 100_000, thresholds)
    assert policy.needs_legal_review(EnforcementKind.SUSPENSION, None, thresholds)
    assert policy.needs_legal_review(EnforcementKind.CLOSURE_REQUEST, None, thresholds)
    assert not policy.needs_legal_review(EnforcementKind.PUBLIC_NOTICE, None, thresholds)
    assert policy.parse_review_kinds("suspension, fine") == {EnforcementKind.SUSPENSION, EnforcementKind.FINE}
    with pytest.raises(ValueError):
        policy.parse_review_kinds("suspension,prison")


def test_transfer_clocks():
    t0 = dt.datetime(2023, 5, 1, 9, tzinfo=dt.UTC)
    open_clock = policy.transfer_clock(proposed_at=t0, decided_at=None, approved=False, transferred_at=None, now=t0)
    assert open_clock.decision_due_at == t0 + dt.timedelta(days=3) and not open_clock.decision_overdue
    late = policy.transfer_clock(
        proposed_at=t0, decided_at=None, approved=False, transferred_at=None, now=t0 + dt.timedelta(days=3, seconds=1)
    )
    assert late.decision_overdue
    decided = t0 + dt.timedelta(days=2)
    clock = policy.transfer_clock(
        proposed_at=t0, decided_at=decided, approved=True, transferred_at=None, now=decided + dt.timedelta(hours=24)
    )
    assert clock.transfer_due_at == decided + dt.timedelta(hours=24)
    assert not clock.decision_overdue and not clock.transfer_overdue
    missed = policy.transfer_clock(
        proposed_at=t0, decided_at=decided, approved=True, transferred_at=decided + dt.timedelta(hours=25), now=t0
    )
    assert missed.transfer_overdue


def test_penalties_and_reviewed_decisions_need_a_decider_other_than_the_proposer() -> None:
    assert policy.proposer_may_not_decide(EnforcementKind.FINE, False)
    assert policy.proposer_may_not_decide(EnforcementKind.SUSPENSION, False)
    assert policy.proposer_may_not_decide(EnforcementKind.JUDICIAL_TRANSFER, False)
    assert not policy.proposer_may_not_decide(EnforcementKind.RECTIFY_ORDER, False)
    assert policy.proposer_may_not_decide(EnforcementKind.ADMONITION, True)
