"""Wire types of the enterprise registry (检查对象) and declared conflicts of interest (回避).

The credit code is only length-checked at decode time; its GB 32100 check
character is checked by the service, so a mistyped code gets its own stable
error (``invalid_credit_code``) instead of a generic decode error.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Annotated

import msgspec

from schemas.base import Input, Struct
from schemas.vocab import District, OperatingStatus, RiskGrade, Sector, StandardizationLevel

CreditCodeText = Annotated[str, msgspec.Meta(min_length=1, max_length=32)]
EnterpriseName = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
Address = Annotated[str, msgspec.Meta(max_length=256)]
Longitude = Annotated[float, msgspec.Meta(ge=-180, le=180)]
Latitude = Annotated[float, msgspec.Meta(ge=-90, le=90)]
ContactName = Annotated[str, msgspec.Meta(max_length=64)]
Phone = Annotated[str, msgspec.Meta(max_length=32)]
Notes = Annotated[str, msgspec.Meta(max_length=2000)]
Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]


class Enterprise(Struct, kw_only=True):
    """One registry entry as every reader sees it (every field always present, coordinates when known)."""

    id: uuid.UUID
    credit_code: str
    name: str
    sector: Sector
    district: District
    address: str
    longitude: float | None = None
    latitude: float | None = None
    risk_grade: RiskGrade
    standardization_level: StandardizationLevel
    major_hazard_source: bool
    operating_status: OperatingStatus
    contact_name: str
    contact_phone: str
    notes: str
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime


class EnterpriseCreate(Input, kw_only=True):
    """Register an enterprise (admins and supervisors)."""

    credit_code: CreditCodeText
    name: EnterpriseName
    sector: Sector
    district: District
    address: Address = ""
    longitude: Longitude | None = None
    latitude: Latitude | None = None
    risk_grade: RiskGrade = RiskGrade.B
    standardization_level: StandardizationLevel = StandardizationLevel.UNGRADED
    major_hazard_source: bool = False
    operating_status: OperatingStatus = OperatingStatus.OPERATING
    contact_name: ContactName = ""
    contact_phone: Phone = ""
    notes: Notes = ""


class EnterpriseUpdate(Input, kw_only=True):
    """Change some fields; ``expected_version`` (optional) refuses a change based on a stale read."""

    expected_version: Annotated[int, msgspec.Meta(ge=1)] | msgspec.UnsetType = msgspec.UNSET
    credit_code: CreditCodeText | msgspec.UnsetType = msgspec.UNSET
    name: EnterpriseName | msgspec.UnsetType = msgspec.UNSET
    sector: Sector | msgspec.UnsetType = msgspec.UNSET
    district: District | msgspec.UnsetType = msgspec.UNSET
    address: Address | msgspec.UnsetType = msgspec.UNSET
    longitude: Longitude | None | msgspec.UnsetType = msgspec.UNSET
    latitude: Latitude | None | msgspec.UnsetType = msgspec.UNSET
    risk_grade: RiskGrade | msgspec.UnsetType = msgspec.UNSET
    standardization_level: StandardizationLevel | msgspec.UnsetType = msgspec.UNSET
    major_hazard_source: bool | msgspec.UnsetType = msgspec.UNSET
    operating_status: OperatingStatus | msgspec.UnsetType = msgspec.UNSET
    contact_name: ContactName | msgspec.UnsetType = msgspec.UNSET
    contact_phone: Phone | msgspec.UnsetType = msgspec.UNSET
    notes: Notes | msgspec.UnsetType = msgspec.UNSET


class EnterprisePage(Struct, kw_only=True):
    """One page of a registry search; pass ``next_cursor`` back to get the next one."""

    items: list[Enterprise]
    next_cursor: str | None = None


class ConflictOfInterest(Struct, kw_only=True):
    """A declared 回避: ``user_id`` is never drawn for or assigned to ``enterprise_id`` while active."""

    id: uuid.UUID
    user_id: uuid.UUID
    enterprise_id: uuid.UUID
    reason: str
    declared_at: dt.datetime
    revoked_at: dt.datetime | None


class ConflictOfInterestCreate(Input, kw_only=True):
    """Declare a conflict; inspectors may declare only their own."""

    user_id: uuid.UUID
    enterprise_id: uuid.UUID
    reason: Reason


class ImportStatus(enum.StrEnum):
    """Where a registry import stands."""

    CHECKING = "checking"  # the file is being read and checked row by row
    CHECKED = "checked"  # checked: waiting for the person to confirm (or discard)
    APPLYING = "applying"  # confirmed: its good rows are being written, in one transaction
    APPLIED = "applied"
    FAILED = "failed"  # unreadable, too long, or the write failed (then nothing was written)
    DISCARDED = "discarded"


class EnterpriseImport(Struct, kw_only=True):
    """A registry file's import: its check's progress and counts, then its outcome."""

    id: uuid.UUID
    status: ImportStatus
    file_name: str
    file_sha256: str
    file_bytes: int
    #: Data rows in the file (an estimate while ``checking``).
    total_rows: int
    checked_rows: int
    good_rows: int
    bad_rows: int
    applied_rows: int = 0
    failure: str = ""
    created_by: uuid.UUID
    created_at: dt.datetime
    applied_at: dt.datetime | None = None


class ImportRowError(Struct, kw_only=True):
    field: str
    #: The column's heading in the file (统一社会信用代码, 区县, …).
    label: str
    message: str


class EnterpriseImportRow(Struct, kw_only=True):
    """One data row: ``row_number`` is the line or spreadsheet row the person sees."""

    row_number: int
    ok: bool
    credit_code: str
    name: str
    errors: list[ImportRowError] = msgspec.field(default_factory=list)


class EnterpriseImportRowPage(Struct, kw_only=True):
    items: list[EnterpriseImportRow]
    total: int
