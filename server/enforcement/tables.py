"""Enforcement actions: proposal, decision, 法制审核 and the 行刑衔接 clocks."""

from piccolo.columns import (
    JSON,
    UUID,
    BigInt,
    Boolean,
    Date,
    ForeignKey,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from schemas.enforcement import ActionOrigin, ActionStatus
from schemas.vocab import EnforcementKind
from server.accounts.tables import User
from server.hazards.tables import Hazard
from server.inspections.tables import Inspection
from server.registry.tables import Enterprise


class EnforcementAction(Table, tablename="enforcement_action"):
    """An action proposed by an inspector (or by the system) and decided by a supervisor."""

    id = UUID(primary_key=True)
    kind = Varchar(length=32, choices=EnforcementKind, index=True)
    status = Varchar(length=24, choices=ActionStatus, index=True)
    origin = Varchar(length=16, choices=ActionOrigin, default=ActionOrigin.INSPECTOR)
    enterprise = ForeignKey(references=Enterprise, on_delete=OnDelete.restrict, index=True)
    inspection = ForeignKey(references=Inspection, on_delete=OnDelete.restrict, null=True, index=True)
    hazard = ForeignKey(references=Hazard, on_delete=OnDelete.restrict, null=True, index=True)
    amount_yuan = BigInt(null=True, default=None)
    max_penalty = Boolean(default=False)
    basis = Text(default="")
    reason = Text(default="")
    deadline_date = Date(null=True, default=None)
    document_number = Varchar(length=64, default="")
    proposed_by = ForeignKey(references=User, on_delete=OnDelete.restrict, null=True)
    proposed_at = Timestamptz(index=True)
    decided_by = ForeignKey(references=User, on_delete=OnDelete.restrict, null=True)
    decided_at = Timestamptz(null=True, default=None)
    decision_note = Text(default="")
    legal_review_required = Boolean(default=False)
    reviewed_by = ForeignKey(references=User, on_delete=OnDelete.restrict, null=True)
    reviewed_at = Timestamptz(null=True, default=None)
    review_opinion = Text(default="")
    effective_at = Timestamptz(null=True, default=None, index=True)
    decision_due_at = Timestamptz(null=True, default=None)
    transfer_due_at = Timestamptz(null=True, default=None)
    transferred_at = Timestamptz(null=True, default=None)
    receiving_agency = Varchar(length=200, default="")
    section_113 = JSON(null=True, default=None)
    updated_at = Timestamptz()
