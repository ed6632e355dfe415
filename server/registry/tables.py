"""The enterprise registry and declared conflicts of interest."""

from piccolo.columns import (
    UUID,
    Boolean,
    DoublePrecision,
    ForeignKey,
    Integer,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from schemas.vocab import District, OperatingStatus, RiskGrade, Sector, StandardizationLevel
from server.accounts.tables import User


class Enterprise(Table, tablename="enterprise"):
    """An inspected enterprise (检查对象), keyed by its 统一社会信用代码."""

    id = UUID(primary_key=True)
    credit_code = Varchar(length=18, unique=True)
    name = Varchar(length=128, index=True)
    sector = Varchar(length=32, choices=Sector, index=True)
    district = Varchar(length=32, choices=District, index=True)
    address = Varchar(length=256, default="")
    longitude = DoublePrecision(null=True, default=None)
    latitude = DoublePrecision(null=True, default=None)
    risk_grade = Varchar(length=8, choices=RiskGrade, index=True)
    standardization_level = Varchar(length=16, choices=StandardizationLevel)
    major_hazard_source = Boolean(default=False)
    operating_status = Varchar(length=16, choices=OperatingStatus, default=OperatingStatus.OPERATING)
    contact_name = Varchar(length=64, default="")
    contact_phone = Varchar(length=32, default="")
    notes = Text(default="")
    version = Integer(default=1)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class ConflictOfInterest(Table, tablename="conflict_of_interest"):
    """A declared 回避: the user is never drawn for, or assigned to, this enterprise."""

    id = UUID(primary_key=True)
    user = ForeignKey(references=User, on_delete=OnDelete.restrict, index=True)
    enterprise = ForeignKey(references=Enterprise, on_delete=OnDelete.restrict, index=True)
    reason = Varchar(length=256)
    declared_at = Timestamptz()
    revoked_at = Timestamptz(null=True, default=None)
