"""Wire types of the 三违 register: one named person, one violation, one enterprise.

The ID number travels in full only from the phone to the server
(:class:`ViolationCreate`) and back only to roles that need it
(:class:`ViolationIdNumber`); every other view carries the masked form and
``person_key``, a stable pseudonym that matches the same person across
enterprises without revealing the number.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

import msgspec

from schemas.base import Input, Mutation, Struct
from schemas.vocab import ViolationType

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
IdNumberText = Annotated[str, msgspec.Meta(min_length=1, max_length=32)]
LongText = Annotated[str, msgspec.Meta(min_length=1, max_length=4000)]
NoteText = Annotated[str, msgspec.Meta(max_length=4000)]


class ViolationCreate(Input, kw_only=True):
    """A 三违 as an inspector records it; ``id`` is made on the phone so a retry is recognised."""

    id: uuid.UUID
    inspection_id: uuid.UUID
    person_name: Name
    id_number: IdNumberText
    violation_type: ViolationType
    description: LongText
    post: Annotated[str, msgspec.Meta(max_length=64)] = ""
    certificate_required: bool = False
    certificate_held: bool = True
    disposition: NoteText = ""
    recorded_at: dt.datetime | None = None


class Violation(Struct, kw_only=True):
    """A 三违 record as the server shows it (ID number masked)."""

    id: uuid.UUID
    enterprise_id: uuid.UUID
    person_key: str
    person_name: str
    id_number_masked: str
    violation_type: ViolationType
    description: str
    recorded_by: uuid.UUID | None
    recorded_at: dt.datetime
    inspection_id: uuid.UUID | None = None
    post: str = ""
    certificate_required: bool = False
    certificate_held: bool = True
    disposition: str = ""
    evidence_ids: list[uuid.UUID] = msgspec.field(default_factory=list)


class ViolationIdNumber(Struct, kw_only=True):
    """The full ID number, for roles that need it; every read is audited."""

    violation_id: uuid.UUID
    id_number: str


class PersonLookup(Input, kw_only=True):
    """Find one person's 三违 history by ID number (the number is hashed, never stored or logged)."""

    id_number: IdNumberText


class DispositionUpdate(Input, kw_only=True):
    """A supervisor records how the violation was dealt with (处理结果)."""

    disposition: LongText


class RepeatOffender(Struct, kw_only=True):
    """One person with more than one 三违 record, across enterprises."""

    person_key: str
    person_name: str
    id_number_masked: str
    records: int
    enterprise_ids: list[uuid.UUID]
    first_recorded_at: dt.datetime
    last_recorded_at: dt.datetime
    by_type: dict[str, int] = msgspec.field(default_factory=dict)
    without_certificate: int = 0


class AddViolation(Mutation, kw_only=True, tag="add_violation"):
    """An inspector records a 三违 on the phone."""

    violation: ViolationCreate
