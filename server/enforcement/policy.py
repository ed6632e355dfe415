"""Pure enforcement rules: proposal checks, 法制审核 thresholds, 行刑衔接 clocks, the §113 counter.

Periods follow 民法典 §201/§203 as used in administrative practice: the day an
event happens is not counted, and a period of years ends on the corresponding
day (the month's last day when there is none). So a penalty exactly 180 days
before today is still "within 180 days" and one 181 days before is not; one on
the same calendar date a year ago is "within one year", one a day earlier is not.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from schemas.enforcement import EnforcementProposal, Section113Finding, proposal_refusal
from schemas.vocab import PENALTY_KINDS, EnforcementKind
from server.errors import InvalidInput

#: Decisions the person who proposed them may not take (行政处罚法 §57: the head decides on the
#: investigators' proposal; 应急〔2019〕54号 for transfers). Orders to rectify, talks and notices are not listed.
SEPARATED_KINDS = PENALTY_KINDS | {EnforcementKind.CLOSURE_REQUEST, EnforcementKind.JUDICIAL_TRANSFER}

#: 行刑衔接 (应急〔2019〕54号): the head decides within 3 days; transfer within 24 h of approval.
TRANSFER_DECISION_WINDOW = dt.timedelta(days=3)
TRANSFER_WINDOW = dt.timedelta(hours=24)

SECTION_113_SHORT_DAYS = 180
SECTION_113_SHORT_COUNT = 3
SECTION_113_YEAR_COUNT = 4

@dataclass(frozen=True)
class ReviewThresholds:
    """Which decisions need 法制审核 (configurable; defaults from 长治's list, see DOMAIN research)."""

    kinds: frozenset[EnforcementKind] = frozenset({EnforcementKind.SUSPENSION, EnforcementKind.CLOSURE_REQUEST})
    fine_over_yuan: int = 100_000


def parse_review_kinds(text: str) -> frozenset[EnforcementKind]:
    """Read ``"suspension,closure_request"`` from settings."""
    try:
        return frozenset(EnforcementKind(p.strip()) for p in text.split(",") if p.strip())
    except ValueError:
        raise ValueError(f"unknown enforcement kind in {text!r}; known: {', '.join(EnforcementKind)}") from None


def check_proposal(proposal: EnforcementProposal) -> None:
    """Refuse a proposal whose fields do not fit its kind, naming the field (the rule is ``schemas.enforcement``'s)."""
    refusal = proposal_refusal(proposal)
    if refusal is not None:
        raise InvalidInput.of(refusal)


def needs_legal_review(kind: EnforcementKind, amount_yuan: int | None, thresholds: ReviewThresholds) -> bool:
    """Whether a decision waits for a second person's 法制审核 before taking effect."""
    if kind in thresholds.kinds:
        return True
    return kind == EnforcementKind.FINE and amount_yuan is not None and amount_yuan > thresholds.fine_over_yuan


def proposer_may_not_decide(kind: EnforcementKind, needs_review: bool) -> bool:
    """Whether the decider must be another person than the proposer: 行政处罚 and whatever needs 法制审核."""
    return kind in SEPARATED_KINDS or needs_review


@dataclass(frozen=True)
class TransferClock:
    decision_due_at: dt.datetime
    transfer_due_at: dt.datetime | None
    decision_overdue: bool
    transfer_overdue: bool


def transfer_clock(
    *, proposed_at: dt.datetime, decided_at: dt.datetime | None, approved: bool, transferred_at: dt.datetime | None,
    now: dt.datetime,
) -> TransferClock:
    """The two 行刑衔接 deadlines and whether each is missed as of ``now``."""
    decision_due = proposed_at + TRANSFER_DECISION_WINDOW
    decision_overdue = (decided_at or now) > decision_due
    transfer_due = decided_at + TRANSFER_WINDOW if decided_at is not None and approved else None
    transfer_overdue = transfer_due is not None and (transferred_at or now) > transfer_due
    return TransferClock(decision_due, transfer_due, decision_overdue, transfer_overdue)


#: How long before each 行刑衔接 deadline the people who must act are reminded.
TRANSFER_DECISION_NOTICE = dt.timedelta(days=1)
TRANSFER_NOTICE = dt.timedelta(hours=8)


@dataclass(frozen=True)
class TransferReminder:
    """A 行刑衔接 deadline worth a reminder: ``kind`` (…_near / …_overdue) and the deadline itself."""

    kind: str
    due_at: dt.datetime


def transfer_reminder(clock: TransferClock, *, decided: bool, transferred: bool, now: dt.datetime) -> TransferReminder | None:
    """Which 行刑衔接 clock still runs (the head's decision, then the transfer) and whether it is near or passed."""
    if not decided:
        due, notice, name = clock.decision_due_at, TRANSFER_DECISION_NOTICE, "transfer_decision"
    elif clock.transfer_due_at is not None and not transferred:
        due, notice, name = clock.transfer_due_at, TRANSFER_NOTICE, "transfer"
    else:
        return None
    if now > due:
        return TransferReminder(f"{name}_overdue", due)
    if due - now <= notice:
        return TransferReminder(f"{name}_near", due)
    return None


# --- 安全生产法 §113 -----------------------------------------------------------


@dataclass(frozen=True)
class MajorHazardSpan:
    """When a major hazard existed: from finding to closure (None = still open)."""

    found_date: dt.date
    closed_date: dt.date | None = None


def one_year_before(day: dt.date) -> dt.date:
    """The first day whose one-year period still reaches ``day``.

    A period of a year from 28 Feb 2023 ends on 28 Feb 2024, so on 29 Feb 2024
    the window starts on 1 Mar 2023.
    """
    try:
        return day.replace(year=day.year - 1)
    except ValueError:
        return dt.date(day.year - 1, 3, 1)


def _hazard_in_window(spans: Iterable[MajorHazardSpan], start: dt.date, end: dt.date) -> bool:
    return any(s.found_date <= end and (s.closed_date is None or s.closed_date >= start) for s in spans)


@dataclass(frozen=True)
class Section113Count:
    """The two §113 (一) windows ending today: penalties in each and whether a major hazard existed in it."""

    as_of_date: dt.date
    short_start_date: dt.date
    short_penalties: int
    short_major_hazard: bool
    year_start_date: dt.date
    year_penalties: int
    year_major_hazard: bool


def section_113_count(
    major_hazards: Iterable[MajorHazardSpan], penalty_dates: Iterable[dt.date], today: dt.date
) -> Section113Count:
    """Count penalties dated up to ``today`` in the 180-day and one-year windows ending today."""
    spans = list(major_hazards)
    dates = [d for d in penalty_dates if d <= today]
    short_start = today - dt.timedelta(days=SECTION_113_SHORT_DAYS)
    year_start = one_year_before(today)
    return Section113Count(
        as_of_date=today,
        short_start_date=short_start,
        short_penalties=sum(1 for d in dates if d >= short_start),
        short_major_hazard=_hazard_in_window(spans, short_start, today),
        year_start_date=year_start,
        year_penalties=sum(1 for d in dates if d >= year_start),
        year_major_hazard=_hazard_in_window(spans, year_start, today),
    )


def section_113(
    major_hazards: Iterable[MajorHazardSpan], penalty_dates: Iterable[dt.date], today: dt.date
) -> Section113Finding | None:
    """§113 (一): a major hazard and penalties 3 times within 180 days or 4 times within a year.

    Counts penalties dated up to ``today`` in the window ending today; the
    major hazard must have existed at some point in that same window.
    """
    count = section_113_count(major_hazards, penalty_dates, today)
    if count.short_penalties >= SECTION_113_SHORT_COUNT and count.short_major_hazard:
        return Section113Finding(
            rule="3_in_180_days", penalties=count.short_penalties, window_start_date=count.short_start_date, as_of_date=today
        )
    if count.year_penalties >= SECTION_113_YEAR_COUNT and count.year_major_hazard:
        return Section113Finding(
            rule="4_in_1_year", penalties=count.year_penalties, window_start_date=count.year_start_date, as_of_date=today
        )
    return None
