"""Checklist templates: ``code`` names a template across versions; a change makes a new version."""

from piccolo.columns import UUID, Boolean, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from schemas.vocab import Sector
from server.accounts.tables import User


class ChecklistTemplate(Table, tablename="checklist_template"):
    """One version of a sector's checklist; old versions stay readable, only the newest is current."""

    id = UUID(primary_key=True)
    code = Varchar(length=64, index=True)
    version = Integer()
    sector = Varchar(length=32, choices=Sector, index=True)
    title = Varchar(length=128)
    basis = Varchar(length=256, default="")
    is_current = Boolean(default=True, index=True)
    created_by = ForeignKey(references=User, on_delete=OnDelete.restrict, null=True)
    created_at = Timestamptz()


class ChecklistItem(Table, tablename="checklist_item"):
    """One item of a template version, with its legal basis (依据)."""

    id = UUID(primary_key=True)
    template = ForeignKey(references=ChecklistTemplate, on_delete=OnDelete.restrict, index=True)
    position = Integer()
    code = Varchar(length=32)
    category = Varchar(length=64, default="")
    text = Text()
    legal_basis = Text(default="")
    is_major_criterion = Boolean(default=False)
