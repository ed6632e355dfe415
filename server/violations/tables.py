"""The 三违 register."""

from piccolo.columns import UUID, Boolean, ForeignKey, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from schemas.vocab import ViolationType
from server.accounts.tables import User
from server.inspections.tables import Inspection
from server.registry.tables import Enterprise


class ViolationRecord(Table, tablename="violation_record"):
    """One 三违 by one named person at one enterprise.

    The ID number is kept as a keyed hash (``id_number_hash``: matches the same
    person across enterprises), a masked form (to show) and a sealed form
    (AES-GCM, see ``server/violations/policy.py``) opened only for roles that
    need the full number.
    """

    id = UUID(primary_key=True)
    inspection = ForeignKey(references=Inspection, on_delete=OnDelete.restrict, null=True, index=True)
    enterprise = ForeignKey(references=Enterprise, on_delete=OnDelete.restrict, index=True)
    person_name = Varchar(length=64)
    id_number_hash = Varchar(length=64, index=True)
    id_number_masked = Varchar(length=18)
    id_number_protected = Text()
    post = Varchar(length=64, default="")
    certificate_required = Boolean(default=False)
    certificate_held = Boolean(default=True)
    violation_type = Varchar(length=32, choices=ViolationType, index=True)
    description = Text()
    disposition = Text(default="")
    recorded_by = ForeignKey(references=User, on_delete=OnDelete.restrict, null=True)
    recorded_at = Timestamptz(index=True)
    created_at = Timestamptz()
    updated_at = Timestamptz()
