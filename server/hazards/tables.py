"""Hazards, the escalation steps applied to them, rechecks (回头看) and look-back campaigns."""

from piccolo.columns import (
    JSON,
    UUID,
    Array,
    BigInt,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from schemas.hazards import EscalationStep, RecheckReason, RecheckStatus
from schemas.vocab import HazardLevel, HazardStatus
from server.accounts.tables import User
from server.checklists.tables import ChecklistItem
from server.inspections.tables import Inspection
from server.registry.tables import Enterprise


class Hazard(Table, tablename="hazard"):
    """A hazard found in an inspection; a major one carries 五落实 and is under 挂牌督办."""

    id = UUID(primary_key=True)
    inspection = ForeignKey(references=Inspection, on_delete=OnDelete.restrict, index=True)
    enterprise = ForeignKey(references=Enterprise, on_delete=OnDelete.restrict, index=True)
    item = ForeignKey(references=ChecklistItem, on_delete=OnDelete.restrict, null=True)
    level = Varchar(length=16, choices=HazardLevel, index=True)
    status = Varchar(length=32, choices=HazardStatus, index=True)
    description = Text()
    location_text = Varchar(length=256, default="")
    deadline_date = Date(index=True)
    found_at = Timestamptz(index=True)
    found_by = ForeignKey(references=User, on_delete=OnDelete.restrict, null=True)
    # 五落实 (required for a major hazard): 责任, 措施, 资金, 时限, 预案
    responsible_person = Varchar(length=200, default="")
    measures = Text(default="")
    funds_yuan = BigInt(null=True, default=None)
    five_deadline_date = Date(null=True, default=None)
    contingency_plan = Text(default="")
    listed_supervision = Boolean(default=False, index=True)
    listed_at = Timestamptz(null=True, default=None)
    escalation_step = Integer(default=0)
    recheck_passed = Boolean(default=False)
    rectification_reported_at = Timestamptz(null=True, default=None)
    rectification_note = Text(default="")
    rectification_evidence_ids = Array(base_column=UUID())
    closed_at = Timestamptz(null=True, default=None, index=True)
    closed_by = ForeignKey(references=User, on_delete=OnDelete.restrict, null=True)
    version = Integer(default=1)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class HazardEscalation(Table, tablename="hazard_escalation"):
    """One rung of the overdue ladder applied to a hazard; unique (hazard, step) in m0002, so once per rung."""

    id = UUID(primary_key=True)
    hazard = ForeignKey(references=Hazard, on_delete=OnDelete.restrict, index=True)
    step = Integer()
    action = Varchar(length=32, choices=EscalationStep)
    days_overdue = Integer(default=0)
    trigger = Varchar(length=16, default="overdue")  # overdue | recheck_failed
    enforcement_action_ids = Array(base_column=UUID())
    applied_at = Timestamptz()


class LookbackCampaign(Table, tablename="lookback_campaign"):
    """A supervisor's 回头看 campaign over closed hazards."""

    id = UUID(primary_key=True)
    name = Varchar(length=200)
    criteria = JSON(default={})
    created_by = ForeignKey(references=User, on_delete=OnDelete.restrict, null=True)
    created_at = Timestamptz()


class Recheck(Table, tablename="recheck"):
    """A 回头看 task for one hazard, and its result."""

    id = UUID(primary_key=True)
    hazard = ForeignKey(references=Hazard, on_delete=OnDelete.restrict, index=True)
    enterprise = ForeignKey(references=Enterprise, on_delete=OnDelete.restrict, index=True)
    inspection = ForeignKey(references=Inspection, on_delete=OnDelete.restrict, null=True, index=True)
    campaign = ForeignKey(references=LookbackCampaign, on_delete=OnDelete.restrict, null=True, index=True)
    reason = Varchar(length=32, choices=RecheckReason)
    status = Varchar(length=16, choices=RecheckStatus, index=True)
    due_date = Date()
    passed = Boolean(null=True, default=None)
    note = Text(default="")
    evidence_ids = Array(base_column=UUID())
    result_by = ForeignKey(references=User, on_delete=OnDelete.restrict, null=True)
    result_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(index=True)


class RecheckAssignee(Table, tablename="recheck_assignee"):
    """An inspector assigned to a recheck; unique (recheck, user) in m0002."""

    id = UUID(primary_key=True)
    recheck = ForeignKey(references=Recheck, on_delete=OnDelete.restrict, index=True)
    user = ForeignKey(references=User, on_delete=OnDelete.restrict, index=True)
