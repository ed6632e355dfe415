"""The hazard state machine and the overdue escalation ladder: pure decisions, no I/O.

    found ──start──▶ rectifying ──report──▶ rectification_reported
      │                  ▲  │                        │
      └──report──────────┼──┼────────────────────────┤
                         │  └──recheck(any)──────────┤
           recheck failed│                           ▼ recheck passed
                         └──────────────────── rechecked ──close──▶ closed
                                                                       │
                          lookback recheck failed: closed ─▶ rectifying┘

The only edge into ``closed`` leaves ``rechecked``, and the only edge into
``rechecked`` is a passed recheck, so no path closes a hazard without one.
A major hazard is refused at ``open_hazard`` unless its 五落实 is complete.
Overdue is computed (:func:`is_overdue`); the service stores only which rungs
of the ladder have already been applied (``escalation_level``), so each rung is
applied exactly once however often :func:`escalate` runs.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import msgspec

from schemas.hazards import EscalationStep, FiveInPlace, deadline_refusal, five_in_place_refusal, level_refusal
from schemas.problems import Refusal
from schemas.vocab import HazardLevel, HazardStatus, label
from server.errors import InvalidInput, PermissionDenied, StateConflict

#: States in which the enterprise still owes a fix: only these can be overdue or escalate.
OPEN_STATES = frozenset({HazardStatus.FOUND, HazardStatus.RECTIFYING})

STEP_LABELS = {
    EscalationStep.SUPERVISION_NOTICE: "督办通知",
    EscalationStep.NOTICE_OR_TALK: "通报/约谈",
    EscalationStep.SUSPENSION_PROPOSAL: "提请责令停产停业整顿",
    EscalationStep.CLOSURE_PROPOSAL: "提请关闭",
}


@dataclass(frozen=True)
class HazardFacts:
    """What the state machine needs to know about one hazard."""

    status: HazardStatus
    level: HazardLevel
    deadline_date: dt.date
    five_in_place: FiveInPlace | None = None
    escalation_level: int = 0
    recheck_passed: bool = False


@dataclass(frozen=True)
class Rung:
    step: EscalationStep
    days_overdue: int


LADDER_ORDER = tuple(EscalationStep)
DEFAULT_LADDER = (
    Rung(EscalationStep.SUPERVISION_NOTICE, 1),
    Rung(EscalationStep.NOTICE_OR_TALK, 8),
    Rung(EscalationStep.SUSPENSION_PROPOSAL, 15),
    Rung(EscalationStep.CLOSURE_PROPOSAL, 30),
)


def parse_ladder(text: str) -> tuple[Rung, ...]:
    """Read ``"1,8,15,30"``: days overdue at which each rung applies, in ladder order.

    Fewer numbers give a shorter ladder (the later rungs are never applied).
    """
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not 1 <= len(parts) <= len(LADDER_ORDER):
        raise ValueError(f"escalation ladder needs 1..{len(LADDER_ORDER)} day counts, got {text!r}")
    try:
        days = [int(p) for p in parts]
    except ValueError:
        raise ValueError(f"escalation ladder must be integers, got {text!r}") from None
    if days[0] < 1 or any(b < a for a, b in zip(days, days[1:])):
        raise ValueError(f"escalation ladder days must be >= 1 and non-decreasing, got {text!r}")
    return tuple(Rung(step, d) for step, d in zip(LADDER_ORDER, days))


# --- opening -----------------------------------------------------------------


def check_five_in_place(five: FiveInPlace | None, deadline_date: dt.date) -> None:
    """Refuse an incomplete 五落实, naming the missing field."""
    _raise(five_in_place_refusal(five, deadline_date))


def _raise(refusal: Refusal | None) -> None:
    if refusal is not None:
        raise InvalidInput.of(refusal)


def open_hazard(
    *,
    level: HazardLevel,
    deadline_date: dt.date,
    found_date: dt.date,
    five_in_place: FiveInPlace | None,
    item_is_major: bool | None,
) -> HazardFacts:
    """A new hazard in ``found``; refuses a major one without its criterion item or 五落实.

    ``item_is_major`` is whether the checklist item cited is a 重大事故隐患 criterion
    (None: no item cited). The rules are the shared ones of ``schemas.hazards``.
    """
    _raise(deadline_refusal(deadline_date, found_date))
    _raise(level_refusal(level, item_is_major))
    if level == HazardLevel.MAJOR:
        check_five_in_place(five_in_place, deadline_date)
    return HazardFacts(
        status=HazardStatus.FOUND, level=level, deadline_date=deadline_date, five_in_place=five_in_place
    )


def is_listed_supervision(facts: HazardFacts) -> bool:
    """Major hazards are under 挂牌督办 until closed (摘牌销号)."""
    return facts.level == HazardLevel.MAJOR and facts.status != HazardStatus.CLOSED


# --- transitions -------------------------------------------------------------


def _refuse(facts: HazardFacts, action: str, action_en: str) -> StateConflict:
    return StateConflict(
        f"隐患当前状态为「{label(facts.status)}」，不能{action}",
        f"cannot {action_en} a hazard in state {facts.status}",
        field="status",
    )


def start_rectification(facts: HazardFacts) -> HazardFacts:
    """The enterprise has been ordered to fix it and acknowledges."""
    if facts.status != HazardStatus.FOUND:
        raise _refuse(facts, "开始整改", "start rectifying")
    return dataclasses.replace(facts, status=HazardStatus.RECTIFYING)


def report_rectification(facts: HazardFacts) -> HazardFacts:
    """The enterprise reports the fix; a recheck must now verify it."""
    if facts.status not in OPEN_STATES:
        raise _refuse(facts, "报告整改完成", "report rectification of")
    return dataclasses.replace(facts, status=HazardStatus.RECTIFICATION_REPORTED)


def record_recheck(
    facts: HazardFacts, *, passed: bool, new_deadline_date: dt.date | None, today: dt.date
) -> HazardFacts:
    """Apply a recheck result: passed → ``rechecked``; failed → back to ``rectifying``.

    A failed recheck needs a new deadline when the old one has passed or when
    the hazard had been closed (a failed 回头看 reopens it).
    """
    if facts.status == HazardStatus.RECHECKED:
        raise _refuse(facts, "重复复查", "recheck again")
    if passed:
        if facts.status == HazardStatus.CLOSED:
            return facts  # a passed look-back confirms the closure
        return dataclasses.replace(facts, status=HazardStatus.RECHECKED, recheck_passed=True)
    deadline = facts.deadline_date
    if new_deadline_date is not None:
        if new_deadline_date < today:
            raise InvalidInput(
                "新的整改期限不得早于今天", "the new deadline is in the past", field="new_deadline_date"
            )
        deadline = new_deadline_date
    elif facts.status == HazardStatus.CLOSED or deadline < today:
        raise InvalidInput(
            "复查不合格，须重新确定整改期限", "a failed recheck needs a new deadline", field="new_deadline_date"
        )
    five = facts.five_in_place
    if five is not None and five.deadline_date > deadline:
        five = msgspec.structs.replace(five, deadline_date=deadline)
    return dataclasses.replace(
        facts, status=HazardStatus.RECTIFYING, deadline_date=deadline, five_in_place=five, recheck_passed=False
    )


def check_recheck_order(facts: HazardFacts, *, recheck_pending: bool) -> None:
    """A supervisor orders a recheck of a hazard still owed a fix or awaiting verification, one at a time."""
    if facts.status not in OPEN_STATES | {HazardStatus.RECTIFICATION_REPORTED}:
        raise _refuse(facts, "安排复查", "order a recheck of")
    if recheck_pending:
        raise StateConflict("该隐患已有待完成的复查任务", "a recheck of this hazard is already pending", field="hazard_id")


def close_hazard(facts: HazardFacts) -> HazardFacts:
    """销号: only after a passed recheck."""
    if facts.status != HazardStatus.RECHECKED or not facts.recheck_passed:
        raise _refuse(facts, "销号（须经复查合格）", "close (a passed recheck is required)")
    return dataclasses.replace(facts, status=HazardStatus.CLOSED)


# --- overdue and escalation --------------------------------------------------


def is_overdue(facts: HazardFacts, today: dt.date) -> bool:
    """Past the deadline with the fix still owed."""
    return facts.status in OPEN_STATES and today > facts.deadline_date


def days_overdue(facts: HazardFacts, today: dt.date) -> int:
    return max(0, (today - facts.deadline_date).days) if is_overdue(facts, today) else 0


def due_steps(facts: HazardFacts, today: dt.date, ladder: Sequence[Rung]) -> tuple[EscalationStep, ...]:
    """Rungs reached by ``today`` and not yet applied, in ladder order."""
    overdue_days = days_overdue(facts, today)
    if overdue_days == 0:
        return ()
    return tuple(
        rung.step
        for index, rung in enumerate(ladder)
        if index >= facts.escalation_level and rung.days_overdue <= overdue_days
    )


def escalate(
    facts: HazardFacts, today: dt.date, ladder: Sequence[Rung]
) -> tuple[HazardFacts, tuple[EscalationStep, ...]]:
    """Apply every due rung once; returns the new facts and the rungs applied now."""
    steps = due_steps(facts, today, ladder)
    return dataclasses.replace(facts, escalation_level=facts.escalation_level + len(steps)), steps


def escalate_after_failed_recheck(
    facts: HazardFacts, ladder: Sequence[Rung]
) -> tuple[HazardFacts, tuple[EscalationStep, ...]]:
    """A failed recheck climbs one rung at once (if any is left)."""
    if facts.escalation_level >= len(ladder):
        return facts, ()
    step = ladder[facts.escalation_level].step
    return dataclasses.replace(facts, escalation_level=facts.escalation_level + 1), (step,)


def needs_deadline_recheck(facts: HazardFacts, today: dt.date, has_open_recheck: bool) -> bool:
    """When the deadline passes a recheck is due, unless one is already waiting."""
    return is_overdue(facts, today) and not has_open_recheck


# --- recheck assignment ------------------------------------------------------


def choose_recheckers(
    pool: Iterable[uuid.UUID],
    finders: Iterable[uuid.UUID],
    load: Mapping[uuid.UUID, int],
    count: int = 2,
) -> list[uuid.UUID]:
    """Pick up to ``count`` of the pool who did not find the hazard, the least busy first (ties on the id).

    A finder is never picked, however small the pool: nobody rechecks, and so
    closes, their own finding (:func:`check_rechecker`).
    """
    finder_set = set(finders)
    others = sorted(set(pool) - finder_set, key=lambda u: (load.get(u, 0), str(u)))
    return others[:count]


def check_rechecker(user_id: uuid.UUID | None, finders: Iterable[uuid.UUID]) -> None:
    """Refuse a recheck result from someone of the team that found the hazard."""
    if user_id in set(finders):
        raise PermissionDenied(
            "发现该隐患的检查人员不能复查、销号本人发现的隐患，须由其他执法人员复查",
            "the finder of a hazard may not recheck it",
            field="recheck_id",
        )
