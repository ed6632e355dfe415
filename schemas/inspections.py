"""Wire types of inspections: the check itself, its item results, conflicts and amendments.

An inspection is assigned to a team (a supervisor or a spot-check draw creates
it), started on a phone, filled item by item, then signed and submitted. A
submitted inspection is locked: every later edit becomes an amendment kept
beside it. Item results merge field by field on sync; when two inspectors
wrote different values to the same field, both are kept in an
:class:`ItemResultConflict` until a supervisor decides.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping
from typing import Annotated, Any

import msgspec

from schemas.base import Input, Mutation, Struct
from schemas.problems import ErrorCode, FieldError, Refusal
from schemas.vocab import InspectionKind, InspectionStatus, ItemOutcome

NoteText = Annotated[str, msgspec.Meta(max_length=4000)]
Name = Annotated[str, msgspec.Meta(max_length=64)]
Longitude = Annotated[float, msgspec.Meta(ge=-180, le=180)]
Latitude = Annotated[float, msgspec.Meta(ge=-90, le=90)]
Version = Annotated[int, msgspec.Meta(ge=0, le=2**31)]

#: The item-result fields that merge one by one (each has its own version).
ITEM_RESULT_FIELDS = ("outcome", "note")


# --- records as the server shows them (HTTP and pull) -------------------------


class Inspection(Struct, kw_only=True):
    """One check of one enterprise by a team of inspectors."""

    id: uuid.UUID
    kind: InspectionKind
    status: InspectionStatus
    enterprise_id: uuid.UUID
    inspector_ids: list[uuid.UUID]
    lead_inspector_id: uuid.UUID | None = None
    template_id: uuid.UUID | None = None
    department_id: uuid.UUID | None = None
    spot_check_task_id: uuid.UUID | None = None
    recheck_of_hazard_id: uuid.UUID | None = None
    planned_date: dt.date | None = None
    started_at: dt.datetime | None = None
    submitted_at: dt.datetime | None = None
    longitude: float | None = None
    latitude: float | None = None
    summary: str = ""
    signed_by_name: str = ""
    version: int = 1
    updated_at: dt.datetime | None = None
    #: The supervisor's last review: approved (status reviewed) or returned for correction (in_progress, note says why).
    reviewed_by: uuid.UUID | None = None
    reviewed_at: dt.datetime | None = None
    review_note: str = ""


class ItemResult(Struct, kw_only=True):
    """The result of one checklist item; ``version`` is what a phone sends back as ``base_version``."""

    id: uuid.UUID
    inspection_id: uuid.UUID
    item_id: uuid.UUID
    outcome: ItemOutcome
    note: str = ""
    version: int = 1
    updated_by: uuid.UUID | None = None
    updated_at: dt.datetime | None = None


class ItemResultConflict(Struct, kw_only=True):
    """Two inspectors wrote different values to one field; the server value stands until resolved."""

    id: uuid.UUID
    item_result_id: uuid.UUID
    inspection_id: uuid.UUID
    field: str
    server_value: Any
    client_value: Any
    client_user_id: uuid.UUID | None = None
    client_device_id: uuid.UUID | None = None
    created_at: dt.datetime
    resolved_at: dt.datetime | None = None
    resolved_by: uuid.UUID | None = None
    resolution: Any = None


class Amendment(Struct, kw_only=True):
    """A note on an inspection, or a change made after it was signed: kept beside it, never merged in."""

    id: uuid.UUID
    inspection_id: uuid.UUID
    author_id: uuid.UUID | None
    text: str
    payload: dict[str, Any] = msgspec.field(default_factory=dict)
    created_at: dt.datetime


# --- HTTP request bodies -------------------------------------------------------


class InspectionCreate(Input, kw_only=True):
    """A supervisor assigns a check to a team; the first inspector listed leads and signs."""

    enterprise_id: uuid.UUID
    kind: InspectionKind = InspectionKind.ROUTINE
    inspector_ids: Annotated[list[uuid.UUID], msgspec.Meta(min_length=1, max_length=10)]
    template_id: uuid.UUID | None = None
    planned_date: dt.date | None = None
    id: uuid.UUID | None = None


class InspectionAssign(Input, kw_only=True):
    """A supervisor names the team of a check not yet started; the first inspector listed leads and signs."""

    inspector_ids: Annotated[list[uuid.UUID], msgspec.Meta(min_length=1, max_length=10)]


class InspectionSubmit(Input, kw_only=True):
    """Sign and submit over HTTP (the same rule as the phone's ``submit_inspection``)."""

    summary: NoteText = ""
    signed_by_name: Name = ""
    signature_evidence_id: uuid.UUID | None = None
    submitted_at: dt.datetime | None = None


class InspectionReview(Input, kw_only=True):
    """A supervisor approves a submitted check, or returns it to the team for correction (with the reason)."""

    decision: Annotated[str, msgspec.Meta(pattern="^(approve|return)$")]
    reason: NoteText = ""


class InspectionCancel(Input, kw_only=True):
    """A supervisor calls off a check that has not been signed (with the reason); its spot-check task is cancelled too."""

    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=4000)]


class ConflictResolution(Input, kw_only=True):
    """A supervisor's decision on a conflict: keep the server's value, take the phone's, or set another."""

    choose: Annotated[str, msgspec.Meta(pattern="^(server|client|other)$")]
    value: Any = None
    reason: NoteText = ""


# --- rules (pure; shared by the server and the phones) -------------------------


def item_result_refusal(fields: Iterable[str], *, first: bool) -> Refusal | None:
    """Why a record of an item result is refused: it sets nothing, or it is the item's first and has no outcome."""
    given = set(fields)
    if not given:
        return Refusal(field="outcome", message="没有要记录的内容", message_en="nothing to record")
    if first and "outcome" not in given:
        return Refusal(field="outcome", message="首次记录检查项须填写结果",
                       message_en="the first record of an item needs an outcome")
    return None


def unanswered_refusal(
    items: Iterable[Mapping[str, Any]], answered_item_ids: Iterable[uuid.UUID | str]
) -> Refusal | None:
    """Why a check cannot be signed yet: checklist items (``id``, ``code``, ``text``, in order) with no outcome.

    不适用 is an answer, silence is not.
    """
    answered = {str(i) for i in answered_item_ids}
    missing = [i for i in items if str(i["id"]) not in answered]
    if not missing:
        return None
    shown = "、".join(f"{i['code']} {i['text']}" for i in missing[:10]) + ("等" if len(missing) > 10 else "")
    return Refusal(
        field="items",
        message=f"还有 {len(missing)} 个检查项未填写结果（不适用也须选择）：{shown}",
        message_en=f"{len(missing)} checklist items unanswered: " + ", ".join(str(i["code"]) for i in missing),
        code=ErrorCode.ITEMS_UNANSWERED,
        errors=[FieldError(field=f"items.{i['id']}", message=f"{i['code']} {i['text']}：未填写") for i in missing],
    )


# --- offline mutations (composed into the union in schemas/sync.py) -----------


class StartInspection(Mutation, kw_only=True, tag="start_inspection"):
    """Start an assigned inspection, or open a new 巡查 of ``enterprise_id`` under a phone-made id."""

    inspection_id: uuid.UUID
    started_at: dt.datetime
    enterprise_id: uuid.UUID | None = None
    template_id: uuid.UUID | None = None
    longitude: Longitude | None = None
    latitude: Latitude | None = None


class RecordItemResult(Mutation, kw_only=True, tag="record_item_result"):
    """Set some fields of one item result; unset fields are left alone.

    ``base_version`` is the version of the item result the phone last pulled
    (0 if it had none). A field another inspector changed since then is a
    conflict, unless both wrote the same value.
    """

    id: uuid.UUID
    inspection_id: uuid.UUID
    item_id: uuid.UUID
    base_version: Version = 0
    outcome: ItemOutcome | msgspec.UnsetType = msgspec.UNSET
    note: NoteText | msgspec.UnsetType = msgspec.UNSET
    recorded_at: dt.datetime | None = None


class SubmitInspection(Mutation, kw_only=True, tag="submit_inspection"):
    """Sign and submit: the inspection is locked from now on."""

    inspection_id: uuid.UUID
    summary: NoteText = ""
    signed_by_name: Name = ""
    signature_evidence_id: uuid.UUID | None = None
    submitted_at: dt.datetime


class AddNote(Mutation, kw_only=True, tag="add_note"):
    """Append a note to an inspection; on a submitted one it is an amendment. Never conflicts."""

    id: uuid.UUID
    inspection_id: uuid.UUID
    text: Annotated[str, msgspec.Meta(min_length=1, max_length=4000)]
    created_at: dt.datetime
