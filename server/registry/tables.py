"""The enterprise registry and declared conflicts of interest."""

from piccolo.columns import (
    UUID,
    Boolean,
    Bytea,
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


class EnterpriseImport(Table, tablename="enterprise_import"):
    """A registry file being checked, checked and waiting for confirmation, or applied (``server.registry.imports``)."""

    id = UUID(primary_key=True)
    created_by = ForeignKey(references=User, on_delete=OnDelete.restrict, index=True, null=False)
    created_at = Timestamptz()
    updated_at = Timestamptz()
    file_name = Varchar(length=256, default="")
    file_sha256 = Varchar(length=64, default="")
    file_bytes = Integer(default=0)
    #: checking -> checked -> applying -> applied; or failed / discarded
    status = Varchar(length=16, default="checking")
    total_rows = Integer(default=0)
    checked_rows = Integer(default=0)
    good_rows = Integer(default=0)
    bad_rows = Integer(default=0)
    failure = Text(default="")
    applied_at = Timestamptz(null=True, default=None)
    applied_by = ForeignKey(references=User, on_delete=OnDelete.restrict, null=True, default=None)
    applied_rows = Integer(default=0)


class EnterpriseImportRow(Table, tablename="enterprise_import_row"):
    """One data row of an import file: its checked values, or why it was refused."""

    id = UUID(primary_key=True)
    batch = ForeignKey(references=EnterpriseImport, on_delete=OnDelete.cascade, null=False)
    row_number = Integer()
    ok = Boolean(default=False)
    credit_code = Varchar(length=64, default="")
    name = Varchar(length=256, default="")
    #: when ok, the enterprise's columns as the registry's rules made them (registry.service.new_enterprise_values,
    #: JSON); the refusals (field, label, message) when not. Once applied, the enterprise has this row's id.
    data = Text(default="")
    errors = Text(default="")
    #: Once the apply has prepared the row: the enterprise as phones receive it (change-feed payload, msgpack).
    payload = Bytea(null=True, default=None)
