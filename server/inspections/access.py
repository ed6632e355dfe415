"""Who may write an inspection, in what state, and with what team: the one rule every path calls.

Every write that lands in or on an inspection — item results, notes, the
submit, hazards, 三违, photos and signatures, enforcement proposals and
decisions — goes through :func:`require_writable`; every team that is formed
— a supervisor's assignment, a patrol a phone opens, a spot-check release, and
the team behind a proposed or decided 行政处罚 — goes through
:func:`check_team`. Both are pure; :func:`load` and :func:`require_team` fetch
what they decide on. The API, the sync handlers, the release job and the
enforcement service all call these, so no domain keeps a copy.

The rules:

- Seeing: an inspector sees the inspections of their team (a covert one only
  once its task is released); a supervisor their department's; leaders and
  admins all. Anyone else is told the inspection does not exist.
- Writing: leaders never write. An inspector writes on their team's
  inspections, a supervisor on their department's. Admins keep the check's
  paperwork (results, notes, photos, the submit) but record no finding and
  propose nothing: hazards, 三违 and proposals are an officer's or their head's.
- State: nothing is written to a cancelled check. Once the enterprise has
  signed (submitted, and after review) the record is locked: item results,
  notes, hazards and 三违 become amendments beside it (:attr:`Mode.AMEND`);
  a second submit is refused; photos are taken until the review closes it.
  Proposals and a hazard's rectification follow the signed check.
- Team (行政处罚法 §42, 回避): nobody with a declared conflict of interest
  with the enterprise is on it; an 执法检查, and the check behind any proposed
  or decided 行政处罚 (fine, suspension), has at least two officers who hold
  执法证 numbers.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from schemas.vocab import PENALTY_KINDS, EnforcementKind, InspectionKind, InspectionStatus, Role
from server.accounts import service as accounts_service
from server.accounts.policy import Actor, may_manage_department, may_write, sees_all_departments
from server.errors import InvalidInput, NotFound, PermissionDenied, StateConflict
from server.hooks import Hooks
from server.inspections.tables import Inspection, InspectionInspector
from server.registry import service as registry_service
from server.sync import sql

#: Signed by the enterprise: later writes are amendments (or refused).
LOCKED_STATUSES = frozenset({InspectionStatus.SUBMITTED, InspectionStatus.REVIEWED})

#: 行政处罚法 §42: carried out by at least two officers holding 执法证.
MIN_OFFICERS = 2


class Write(enum.StrEnum):
    """What is being written to an inspection (the state rules differ by it)."""

    START = "start"
    ITEM_RESULT = "item_result"
    NOTE = "note"
    SUBMIT = "submit"
    HAZARD = "hazard"
    VIOLATION = "violation"
    EVIDENCE = "evidence"
    PROPOSAL = "proposal"
    FOLLOW_UP = "follow_up"  # a hazard's rectification, after the check


#: Findings, proposals and their follow-up: an officer's or their head's, never an admin's.
_FINDINGS = frozenset({Write.HAZARD, Write.VIOLATION, Write.PROPOSAL, Write.FOLLOW_UP})
#: Writes that become amendments once the inspection is signed.
_AMENDABLE = frozenset({Write.ITEM_RESULT, Write.NOTE, Write.HAZARD, Write.VIOLATION})


class Mode(enum.Enum):
    """How an accepted write is kept."""

    WRITE = "write"  # as a record of its own
    AMEND = "amend"  # as an amendment beside the signed inspection


@dataclass(frozen=True)
class InspectionFacts:
    """What the rules need of one inspection (``row`` is the whole table row, for the caller)."""

    id: uuid.UUID
    kind: InspectionKind
    status: InspectionStatus
    department: uuid.UUID | None
    enterprise: uuid.UUID
    team: tuple[uuid.UUID, ...]
    hidden: bool  # a covert check whose task is not released yet
    row: Mapping[str, Any]
    lead: uuid.UUID | None = None  # the member who leads (first named)

    def on_team(self, actor: Actor) -> bool:
        return actor.user_id is not None and actor.user_id in self.team

    def team_rows(self) -> list[dict[str, Any]]:
        """The team as ``records.teams_of`` gives it (user, is_lead), for publishing without reading it again."""
        return [{"user": u, "is_lead": u == self.lead} for u in self.team]


# --- pure rules ------------------------------------------------------------------


def may_see(actor: Actor, inspection: InspectionFacts) -> bool:
    if actor.role == Role.INSPECTOR:
        return inspection.on_team(actor) and not inspection.hidden
    return sees_all_departments(actor) or may_manage_department(actor, inspection.department) or inspection.on_team(actor)


def require_visible(actor: Actor, inspection: InspectionFacts) -> None:
    if not may_see(actor, inspection):
        raise NotFound("检查记录不存在", "inspection not found", field="inspection_id")


def _may_write(actor: Actor, inspection: InspectionFacts, what: Write) -> bool:
    if not may_write(actor):
        return False
    if actor.role == Role.INSPECTOR:
        return inspection.on_team(actor)
    if actor.role == Role.SUPERVISOR:
        return may_manage_department(actor, inspection.department) or inspection.on_team(actor)
    return what not in _FINDINGS  # admins: the paperwork only


def require_writable(actor: Actor, inspection: InspectionFacts, what: Write) -> Mode:
    """How ``actor`` may write ``what`` to ``inspection``; NotFound, PermissionDenied or StateConflict if not at all."""
    require_visible(actor, inspection)
    if not _may_write(actor, inspection, what):
        raise PermissionDenied("无权修改该检查记录", "may not write this inspection", field="inspection_id")
    if inspection.status == InspectionStatus.CANCELLED:
        raise StateConflict("该检查已取消", "inspection cancelled", field="inspection_id")
    locked = inspection.status in LOCKED_STATUSES
    if what is Write.SUBMIT and locked:
        raise StateConflict("该检查已签字提交，不能再次提交", "already submitted", field="inspection_id")
    if what is Write.EVIDENCE and inspection.status == InspectionStatus.REVIEWED:
        raise StateConflict("该检查已结束，不能再添加证据", "inspection is closed", field="inspection_id")
    if what in _AMENDABLE and locked:
        return Mode.AMEND
    return Mode.WRITE


def needs_two_officers(kind: InspectionKind | EnforcementKind) -> bool:
    """An 执法检查, or a 行政处罚 proposed or decided on a check."""
    return kind == InspectionKind.ENFORCEMENT or kind in PENALTY_KINDS


def check_team(
    kind: InspectionKind | EnforcementKind,
    members: Sequence[uuid.UUID],
    certificates: Mapping[uuid.UUID, str | None],
    conflicts: Iterable[uuid.UUID],
    *,
    field: str = "inspector_ids",
) -> None:
    """Refuse a team that may not carry out ``kind`` (回避; two certified officers where the law asks for them)."""
    if not members:
        raise InvalidInput("检查至少需要一名检查人员", "a check needs an inspector", field=field)
    if set(conflicts) & set(members):
        raise InvalidInput(
            "检查人员与该企业存在回避关系，不得参加检查", "an inspector has a declared conflict with the enterprise", field=field
        )
    if needs_two_officers(kind):
        certified = {m for m in members if (certificates.get(m) or "").strip()}
        if len(certified) < MIN_OFFICERS:
            raise InvalidInput(
                "执法检查及行政处罚须由两名以上持有执法证的执法人员实施",
                "enforcement needs at least two officers holding 执法证 numbers",
                field=field,
            )


# --- covert checks ----------------------------------------------------------------

#: Which of these spot-check task ids are released (their target no longer secret).
ReleasedTasks = Callable[[list[uuid.UUID]], Awaitable[set[uuid.UUID]]]

#: Asked of the spot-check domain that owns the release (:func:`server.spotchecks.covert.released_tasks`).
RELEASED_TASKS: Hooks[ReleasedTasks] = Hooks("covert release check", ("spotchecks",))


async def hidden_inspections(inspection_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    """Covert inspections whose target is still secret: their task is not released (or there is no task)."""
    ids = list(set(inspection_ids))
    if not ids:
        return set()
    covert = await Inspection.select(Inspection.id, Inspection.spot_check_task_id).where(
        Inspection.id.is_in(ids), Inspection.kind == InspectionKind.COVERT
    )
    return await _hidden_among(covert)


async def _hidden_among(covert: Sequence[Mapping[str, Any]]) -> set[uuid.UUID]:
    """Which of these covert rows (id, spot_check_task_id) are still secret: their task is not released."""
    if not covert:
        return set()
    task_ids = [r["spot_check_task_id"] for r in covert if r["spot_check_task_id"] is not None]
    released = await RELEASED_TASKS.one()(task_ids) if task_ids else set()
    return {r["id"] for r in covert if r["spot_check_task_id"] not in released}


async def assigned_enterprises(actor: Actor) -> set[uuid.UUID]:
    """The enterprises of the inspections ``actor`` is on, a covert one's only once its task is released."""
    mine = InspectionInspector.select(InspectionInspector.inspection).where(InspectionInspector.user == actor.user_id)
    inspections = await Inspection.select(Inspection.id, Inspection.enterprise).where(Inspection.id.is_in(mine))
    hidden = await hidden_inspections(r["id"] for r in inspections)
    return {r["enterprise"] for r in inspections if r["id"] not in hidden}


registry_service.WORK_SOURCES.register("inspections", assigned_enterprises)


# --- loading ----------------------------------------------------------------------


async def load_many(inspection_ids: Iterable[uuid.UUID], *, lock: bool = False) -> dict[uuid.UUID, InspectionFacts]:
    """The facts of the inspections that exist among ``inspection_ids`` (``lock``: for a read-merge-write)."""
    ids = list(dict.fromkeys(inspection_ids))
    if not ids:
        return {}
    if lock:
        await sql.lock(sql.LOCK_INSPECTION, [str(i) for i in ids])
    rows = await Inspection.select().where(Inspection.id.is_in(ids))
    teams: dict[uuid.UUID, list[uuid.UUID]] = {r["id"]: [] for r in rows}
    leads: dict[uuid.UUID, uuid.UUID] = {}
    if rows:
        for member in await InspectionInspector.select(
            InspectionInspector.inspection, InspectionInspector.user, InspectionInspector.is_lead
        ).where(InspectionInspector.inspection.is_in(list(teams))):
            teams[member["inspection"]].append(member["user"])
            if member["is_lead"]:
                leads[member["inspection"]] = member["user"]
    hidden = await _hidden_among([r for r in rows if r["kind"] == InspectionKind.COVERT])  # rows already read
    return {
        r["id"]: InspectionFacts(
            id=r["id"], kind=InspectionKind(r["kind"]), status=InspectionStatus(r["status"]), department=r["department"],
            enterprise=r["enterprise"], team=tuple(teams[r["id"]]), hidden=r["id"] in hidden, row=r,
            lead=leads.get(r["id"]),
        )
        for r in rows
    }


async def load(inspection_id: uuid.UUID, *, lock: bool = False, missing: Exception | None = None) -> InspectionFacts:
    """One inspection's facts; ``missing`` (default NotFound) when there is none."""
    found = (await load_many([inspection_id], lock=lock)).get(inspection_id)
    if found is None:
        raise missing or NotFound("检查记录不存在", "inspection not found", field="inspection_id")
    return found


async def team_of(inspection_id: uuid.UUID) -> set[uuid.UUID]:
    """The members of an inspection's team (none when there is no such inspection), without loading the inspection."""
    rows = await InspectionInspector.select(InspectionInspector.user).where(InspectionInspector.inspection == inspection_id)
    return {r["user"] for r in rows}


async def team_inspection_ids(user_id: uuid.UUID | None) -> list[uuid.UUID]:
    """The inspections ``user_id`` is on the team of (for listing what they recorded and proposed)."""
    if user_id is None:
        return []
    rows = await InspectionInspector.select(InspectionInspector.inspection).where(InspectionInspector.user == user_id)
    return [r["inspection"] for r in rows]


async def writable(
    actor: Actor, inspection_id: uuid.UUID, what: Write, *, missing: Exception | None = None
) -> tuple[InspectionFacts, Mode]:
    """Load (and lock) the inspection and apply :func:`require_writable`."""
    inspection = await load(inspection_id, lock=True, missing=missing)
    return inspection, require_writable(actor, inspection, what)


async def require_team(
    kind: InspectionKind | EnforcementKind,
    enterprise_id: uuid.UUID,
    members: Sequence[uuid.UUID],
    *,
    field: str = "inspector_ids",
    certificates: Mapping[uuid.UUID, str | None] | None = None,
) -> None:
    """:func:`check_team` with the members' 执法证 numbers (read unless the caller has them) and the enterprise's
    declared conflicts."""
    if certificates is None:
        certificates = await accounts_service.badge_numbers(members)
    conflicts = await registry_service.conflicted_users(enterprise_id, members)
    check_team(kind, members, certificates, conflicts, field=field)
