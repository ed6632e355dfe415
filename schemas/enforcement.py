"""Wire types of enforcement actions (执法措施): proposals, decisions, 法制审核 and 行刑衔接 clocks.

Inspectors propose an action offline (:class:`ProposeEnforcement`); a supervisor
decides; decisions above the configured thresholds wait for a second person's
法制审核 before they take effect. The system itself proposes actions too: the
hazard escalation ladder and the 安全生产法 §113 counter.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Annotated

import msgspec

from schemas.base import Input, Mutation, Struct
from schemas.problems import Refusal
from schemas.vocab import EnforcementKind

LongText = Annotated[str, msgspec.Meta(min_length=1, max_length=4000)]
NoteText = Annotated[str, msgspec.Meta(max_length=4000)]
Yuan = Annotated[int, msgspec.Meta(ge=1, le=10**10)]


class ActionStatus(enum.StrEnum):
    PROPOSED = "proposed"  # 待决定
    AWAITING_REVIEW = "awaiting_review"  # 待法制审核
    IN_EFFECT = "in_effect"  # 已生效
    REJECTED = "rejected"  # 不予决定 / 审核未通过
    TRANSFERRED = "transferred"  # 已移送（行刑衔接）


class ActionOrigin(enum.StrEnum):
    INSPECTOR = "inspector"  # 检查人员提出
    SUPERVISOR = "supervisor"  # 负责人直接提出
    ESCALATION = "escalation"  # 隐患逾期升级
    SECTION_113 = "section_113"  # 安全生产法第一百一十三条计数


class EnforcementProposal(Input, kw_only=True):
    """An action proposed for a check or a hazard; ``id`` is made on the phone."""

    id: uuid.UUID
    kind: EnforcementKind
    reason: LongText
    inspection_id: uuid.UUID | None = None
    hazard_id: uuid.UUID | None = None
    amount_yuan: Yuan | None = None
    max_penalty: bool = False
    legal_basis: Annotated[str, msgspec.Meta(max_length=500)] = ""
    deadline_date: dt.date | None = None


def proposal_refusal(proposal: EnforcementProposal) -> Refusal | None:
    """Why a proposal's fields do not fit its kind (naming the field), or None; shared by the server and phones."""
    if proposal.inspection_id is None and proposal.hazard_id is None:
        return Refusal(field="inspection_id", message="执法措施须关联一次检查或一条隐患",
                       message_en="an action must refer to an inspection or a hazard")
    if proposal.kind == EnforcementKind.FINE:
        if proposal.amount_yuan is None:
            return Refusal(field="amount_yuan", message="罚款须填写金额", message_en="a fine needs an amount")
    else:
        if proposal.amount_yuan is not None:
            return Refusal(field="amount_yuan", message="只有罚款可填写金额", message_en="only a fine has an amount")
        if proposal.max_penalty:
            return Refusal(field="max_penalty", message="上限处罚只适用于罚款",
                           message_en="the maximum-penalty flag applies to fines only")
    if proposal.kind == EnforcementKind.RECTIFY_ORDER and proposal.deadline_date is None:
        return Refusal(field="deadline_date", message="责令限期整改须写明整改期限",
                       message_en="a rectification order needs a deadline")
    return None


class EnforcementDecision(Input, kw_only=True):
    """A supervisor's decision on a proposal; refusing a 移送 needs its reasons in ``note``."""

    approve: bool
    note: NoteText = ""
    amount_yuan: Yuan | None = None


class LegalReview(Input, kw_only=True):
    """法制审核 by a second person."""

    approve: bool
    opinion: LongText


class TransferRecord(Input, kw_only=True):
    """The case handed to the 公安 (行刑衔接)."""

    receiving_agency: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    transferred_at: dt.datetime | None = None


class RefusalRecord(Input, kw_only=True):
    """The enterprise refuses to carry out a 停产停业整顿 decision (安全生产法 §113 (四))."""

    note: LongText
    observed_at: dt.datetime | None = None


class Section113Finding(Struct, kw_only=True):
    """Why the §113 counter proposed 提请关闭."""

    rule: str  # "3_in_180_days" | "4_in_1_year" | "refused_suspension"
    penalties: int
    window_start_date: dt.date
    as_of_date: dt.date


class Section113Counter(Struct, kw_only=True):
    """安全生产法 §113 (一) for one enterprise today: penalties in each window and whether a major hazard existed in it."""

    enterprise_id: uuid.UUID
    as_of_date: dt.date
    short_window_start_date: dt.date
    short_window_penalties: int
    short_window_major_hazard: bool
    short_window_threshold: int
    year_window_start_date: dt.date
    year_window_penalties: int
    year_window_major_hazard: bool
    year_window_threshold: int
    open_major_hazards: int = 0
    live_closure_request_id: uuid.UUID | None = None


class EnforcementAction(Struct, kw_only=True):
    id: uuid.UUID
    enterprise_id: uuid.UUID
    kind: EnforcementKind
    status: ActionStatus
    origin: ActionOrigin
    reason: str
    proposed_by: uuid.UUID | None
    proposed_at: dt.datetime
    inspection_id: uuid.UUID | None = None
    hazard_id: uuid.UUID | None = None
    amount_yuan: int | None = None
    max_penalty: bool = False
    legal_basis: str = ""
    deadline_date: dt.date | None = None
    needs_legal_review: bool = False
    decided_by: uuid.UUID | None = None
    decided_at: dt.datetime | None = None
    decision_note: str = ""
    reviewed_by: uuid.UUID | None = None
    reviewed_at: dt.datetime | None = None
    review_opinion: str = ""
    effective_at: dt.datetime | None = None
    # 行刑衔接 clocks (criminal_transfer only)
    decision_due_at: dt.datetime | None = None
    transfer_due_at: dt.datetime | None = None
    transferred_at: dt.datetime | None = None
    receiving_agency: str = ""
    decision_overdue: bool = False
    transfer_overdue: bool = False
    section_113: Section113Finding | None = None


class ProposeEnforcement(Mutation, kw_only=True, tag="propose_enforcement"):
    """An inspector proposes an action on the phone."""

    action: EnforcementProposal
