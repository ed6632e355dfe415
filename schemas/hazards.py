"""Wire types of the hazard closed loop (查改督销) and its 回头看 rechecks.

A hazard is found during a check, rectified by the enterprise, verified by a
recheck and closed (销号). Phones record hazards, rectification reports and
recheck results offline; the mutations below are what they queue.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Annotated

import msgspec

from schemas.base import Input, Mutation, Struct
from schemas.problems import Refusal
from schemas.vocab import HazardLevel, HazardStatus

ShortText = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
LongText = Annotated[str, msgspec.Meta(min_length=1, max_length=4000)]
NoteText = Annotated[str, msgspec.Meta(max_length=4000)]
EvidenceIds = Annotated[list[uuid.UUID], msgspec.Meta(max_length=50)]
Yuan = Annotated[int, msgspec.Meta(ge=0, le=10**12)]


class EscalationStep(enum.StrEnum):
    """Rungs of the overdue ladder, in order."""

    SUPERVISION_NOTICE = "supervision_notice"  # 督办通知
    NOTICE_OR_TALK = "notice_or_talk"  # 通报 / 约谈
    SUSPENSION_PROPOSAL = "suspension_proposal"  # 提请责令停产停业整顿
    CLOSURE_PROPOSAL = "closure_proposal"  # 提请关闭


class RecheckReason(enum.StrEnum):
    RECTIFICATION_REPORTED = "rectification_reported"  # 企业报告整改完成
    DEADLINE_PASSED = "deadline_passed"  # 整改期限届满
    LOOKBACK = "lookback"  # 回头看专项
    ORDERED = "ordered"  # 负责人安排复查


class RecheckStatus(enum.StrEnum):
    PENDING = "pending"
    PASSED = "passed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class FiveInPlace(Struct, kw_only=True):
    """五落实 of a major hazard: 责任、措施、资金、时限、预案."""

    responsible_person: ShortText
    measures: LongText
    funds_yuan: Yuan
    deadline_date: dt.date
    contingency_plan: LongText


class HazardCreate(Input, kw_only=True):
    """A hazard as an inspector records it; ``id`` is made on the phone so a retry is recognised."""

    id: uuid.UUID
    inspection_id: uuid.UUID
    level: HazardLevel
    description: LongText
    deadline_date: dt.date
    checklist_item_id: uuid.UUID | None = None
    location: Annotated[str, msgspec.Meta(max_length=200)] = ""
    five_in_place: FiveInPlace | None = None
    found_at: dt.datetime | None = None


class RectificationReport(Input, kw_only=True):
    """The enterprise says the hazard is fixed; a recheck follows."""

    note: NoteText = ""
    evidence_ids: EvidenceIds = msgspec.field(default_factory=list)
    reported_at: dt.datetime | None = None


class RecheckResult(Input, kw_only=True):
    """The outcome of a 回头看 recheck; a failed one needs a new deadline when the hazard stays open."""

    passed: bool
    note: NoteText = ""
    evidence_ids: EvidenceIds = msgspec.field(default_factory=list)
    new_deadline_date: dt.date | None = None
    checked_at: dt.datetime | None = None


class LookbackCampaignCreate(Input, kw_only=True):
    """A 回头看 campaign over hazards closed in a date range, optionally narrowed."""

    name: ShortText
    closed_from_date: dt.date
    closed_to_date: dt.date
    level: HazardLevel | None = None
    district: Annotated[str, msgspec.Meta(max_length=50)] | None = None
    enterprise_ids: Annotated[list[uuid.UUID], msgspec.Meta(max_length=500)] = msgspec.field(default_factory=list)
    limit: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 200


class Escalation(Struct, kw_only=True):
    step: EscalationStep
    applied_at: dt.datetime
    days_overdue: int
    enforcement_action_ids: list[uuid.UUID] = msgspec.field(default_factory=list)


class Hazard(Struct, kw_only=True):
    """A hazard as the server shows it."""

    id: uuid.UUID
    inspection_id: uuid.UUID
    enterprise_id: uuid.UUID
    level: HazardLevel
    status: HazardStatus
    description: str
    deadline_date: dt.date
    overdue: bool
    listed_supervision: bool
    found_by: uuid.UUID | None
    found_at: dt.datetime
    checklist_item_id: uuid.UUID | None = None
    location: str = ""
    five_in_place: FiveInPlace | None = None
    evidence_ids: list[uuid.UUID] = msgspec.field(default_factory=list)
    escalations: list[Escalation] = msgspec.field(default_factory=list)
    rectification_reported_at: dt.datetime | None = None
    closed_at: dt.datetime | None = None
    version: int = 1
    #: Days past the deadline with the fix still owed (0 when not overdue).
    days_overdue: int = 0


class Recheck(Struct, kw_only=True):
    """A 回头看 task: who rechecks which hazard, and what they found."""

    id: uuid.UUID
    hazard_id: uuid.UUID
    enterprise_id: uuid.UUID
    reason: RecheckReason
    status: RecheckStatus
    assignee_ids: list[uuid.UUID]
    created_at: dt.datetime
    due_date: dt.date | None = None
    overdue: bool = False
    campaign_id: uuid.UUID | None = None
    note: str = ""
    evidence_ids: list[uuid.UUID] = msgspec.field(default_factory=list)
    checked_by: uuid.UUID | None = None
    checked_at: dt.datetime | None = None


class LookbackCampaign(Struct, kw_only=True):
    id: uuid.UUID
    name: str
    created_by: uuid.UUID
    created_at: dt.datetime
    recheck_ids: list[uuid.UUID] = msgspec.field(default_factory=list)


class EscalationRun(Struct, kw_only=True):
    """What one ``escalate_overdue`` pass did."""

    ran_at: dt.datetime
    escalations: int
    rechecks_created: int


# --- rules of opening a hazard (pure; the server's policy and the phones call the same ones) ------


def five_in_place_refusal(five: FiveInPlace | None, deadline_date: dt.date) -> Refusal | None:
    """Why a major hazard's 五落实 is incomplete (naming the missing field), or None."""
    if five is None:
        return Refusal(
            field="five_in_place",
            message="重大事故隐患必须落实整改责任、措施、资金、时限和预案（五落实）",
            message_en="a major hazard needs its five-in-place (person, measures, funds, deadline, plan)",
        )
    for name, what in (("responsible_person", "责任人"), ("measures", "整改措施"), ("contingency_plan", "应急预案")):
        if not getattr(five, name).strip():
            return Refusal(field=f"five_in_place.{name}", message=f"五落实缺少{what}",
                           message_en=f"five-in-place {name} is empty")
    if five.deadline_date > deadline_date:
        return Refusal(
            field="five_in_place.deadline_date",
            message="五落实的整改时限不得晚于整改期限",
            message_en="the five-in-place deadline is later than the rectification deadline",
        )
    return None


def deadline_refusal(deadline_date: dt.date, found_date: dt.date) -> Refusal | None:
    """Why the rectification deadline is impossible (before the finding), or None."""
    if deadline_date < found_date:
        return Refusal(field="deadline_date", message="整改期限不得早于发现日期", message_en="the deadline is before the finding")
    return None


def level_refusal(level: HazardLevel, item_is_major: bool | None) -> Refusal | None:
    """Why the level disagrees with the cited checklist item (None: no item cited), or None."""
    if level == HazardLevel.MAJOR and not item_is_major:
        return Refusal(
            field="checklist_item_id",
            message="重大事故隐患须对应判定标准中的检查项",
            message_en="a major hazard must cite the checklist item that makes it major",
        )
    if level != HazardLevel.MAJOR and item_is_major:
        return Refusal(
            field="level",
            message="该检查项属于重大事故隐患判定标准，隐患等级应为重大",
            message_en="this checklist item is a major-hazard criterion; the level must be major",
        )
    return None


# --- offline mutations -------------------------------------------------------


class AddHazard(Mutation, kw_only=True, tag="add_hazard"):
    """An inspector records a hazard on the phone."""

    hazard: HazardCreate


class ReportRectification(Mutation, kw_only=True, tag="report_rectification"):
    """An inspector records that the enterprise reports the hazard fixed."""

    hazard_id: uuid.UUID
    report: RectificationReport


class ReportRecheck(Mutation, kw_only=True, tag="report_recheck"):
    """An assigned inspector records the result of a recheck."""

    recheck_id: uuid.UUID
    result: RecheckResult
