"""Inspections and what is recorded during them.

Ids of rows a phone creates offline are generated on the phone (UUID4), so a
retried sync never makes a second row.
"""

from piccolo.columns import (
    JSON,
    Boolean,
    UUID,
    Date,
    DoublePrecision,
    ForeignKey,
    Integer,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from schemas.vocab import InspectionKind, InspectionStatus, ItemOutcome
from server.accounts.tables import Department, Device, User
from server.checklists.tables import ChecklistItem, ChecklistTemplate
from server.registry.tables import Enterprise


class Inspection(Table, tablename="inspection"):
    """One check of one enterprise by a team of inspectors."""

    id = UUID(primary_key=True)
    kind = Varchar(length=16, choices=InspectionKind, index=True)
    status = Varchar(length=16, choices=InspectionStatus, index=True)
    enterprise = ForeignKey(references=Enterprise, on_delete=OnDelete.restrict, index=True)
    template = ForeignKey(references=ChecklistTemplate, on_delete=OnDelete.restrict, null=True)
    department = ForeignKey(references=Department, on_delete=OnDelete.restrict, null=True, index=True)
    spot_check_task_id = UUID(null=True, default=None, index=True)
    recheck_of_hazard_id = UUID(null=True, default=None, index=True)
    planned_date = Date(null=True, default=None)
    started_at = Timestamptz(null=True, default=None)
    submitted_at = Timestamptz(null=True, default=None, index=True)
    longitude = DoublePrecision(null=True, default=None)
    latitude = DoublePrecision(null=True, default=None)
    summary = Text(default="")
    signed_by_name = Varchar(length=64, default="")
    # The supervisor's review (m0007): approved → reviewed; returned → in_progress with the reason.
    reviewed_by = ForeignKey(references=User, on_delete=OnDelete.restrict, null=True)
    reviewed_at = Timestamptz(null=True, default=None)
    review_note = Text(default="")
    created_by = ForeignKey(references=User, on_delete=OnDelete.restrict, null=True)
    created_at = Timestamptz(index=True)
    updated_at = Timestamptz()
    version = Integer(default=1)


class InspectionInspector(Table, tablename="inspection_inspector"):
    """An inspector assigned to an inspection (the 执法 team); ``lead`` is the one who signs."""

    id = UUID(primary_key=True)
    inspection = ForeignKey(references=Inspection, on_delete=OnDelete.restrict, index=True)
    user = ForeignKey(references=User, on_delete=OnDelete.restrict, index=True)
    is_lead = Boolean(default=False)
    assigned_at = Timestamptz()


class ItemResult(Table, tablename="item_result"):
    """The result of one checklist item in one inspection; merged field by field on sync."""

    id = UUID(primary_key=True)
    inspection = ForeignKey(references=Inspection, on_delete=OnDelete.restrict, index=True)
    item = ForeignKey(references=ChecklistItem, on_delete=OnDelete.restrict)
    outcome = Varchar(length=16, choices=ItemOutcome)
    note = Text(default="")
    field_versions = JSON(default={})
    version = Integer(default=1)
    updated_by = ForeignKey(references=User, on_delete=OnDelete.restrict, null=True)
    updated_at = Timestamptz()


class ItemResultConflict(Table, tablename="item_result_conflict"):
    """Two inspectors wrote different values to the same field: both are kept until a supervisor decides."""

    id = UUID(primary_key=True)
    item_result = ForeignKey(references=ItemResult, on_delete=OnDelete.restrict, index=True)
    field = Varchar(length=32)
    server_value = JSON()
    client_value = JSON()
    client_user = ForeignKey(references=User, on_delete=OnDelete.restrict, null=True)
    client_device = ForeignKey(references=Device, on_delete=OnDelete.restrict, null=True)
    created_at = Timestamptz()
    resolved_at = Timestamptz(null=True, default=None)
    resolved_by = ForeignKey(references=User, on_delete=OnDelete.restrict, null=True)
    resolution = JSON(null=True, default=None)


class InspectionAmendment(Table, tablename="inspection_amendment"):
    """A change to a submitted (signed) inspection: kept beside it, never written into it."""

    id = UUID(primary_key=True)
    inspection = ForeignKey(references=Inspection, on_delete=OnDelete.restrict, index=True)
    author = ForeignKey(references=User, on_delete=OnDelete.restrict, null=True)
    text = Text()
    payload = JSON(default={})
    created_at = Timestamptz()
