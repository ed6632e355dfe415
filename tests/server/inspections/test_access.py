"""The one access and team rule (server.inspections.access), through every path that reaches it.

- 行政处罚法 §42: an 执法检查, and any 行政处罚 proposed or decided, stands on two officers
  holding 执法证 numbers: a supervisor's assignment, a patrol a phone opens plus a pushed fine,
  the API proposal, the decision.
- Signed means locked: a hazard pushed after the enterprise signed is an amendment (like a late item
  result), over HTTP it is refused; a 三违 after the signing is refused with its reason both ways.
- The pure rules, without I/O.
"""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from schemas import sync as wire
from schemas.enforcement import EnforcementProposal, ProposeEnforcement
from schemas.hazards import AddHazard, HazardCreate
from schemas.inspections import StartInspection, SubmitInspection
from schemas.violations import AddViolation, ViolationCreate
from schemas.vocab import EnforcementKind, InspectionKind, InspectionStatus, Role, ViolationType
from server.accounts.policy import Actor
from server.enforcement.tables import EnforcementAction
from server.errors import InvalidInput, NotFound, PermissionDenied, StateConflict
from server.hazards.tables import Hazard
from server.inspections import access
from server.inspections.access import InspectionFacts, Mode, Write
from server.inspections.tables import Inspection, InspectionAmendment
from server.violations.tables import ViolationRecord
from tests.conftest import login, make_user, username_of
from tests.server.sync.conftest import answers, make_phone, team  # noqa: F401  (fixture)

NOW = dt.datetime(2026, 11, 29, 8, 0, tzinfo=dt.UTC)
PERSON = "11010519491231002X"


def fine(inspection_id: uuid.UUID, amount: int = 50_000) -> dict:
    return {"id": str(uuid.uuid4()), "kind": "fine", "inspection_id": str(inspection_id), "amount_yuan": amount,
            "reason": "未按规定对从业人员进行安全生产教育和培训", "legal_basis": "安全生产法第九十七条"}


# --- two officers with 执法证 numbers ------------------------------------------------------------


async def test_an_enforcement_check_is_assigned_only_to_two_certified_officers(client, team):
    body = {"enterprise_id": str(team.enterprise_id), "kind": "enforcement"}
    alone = await client.post("/api/v1/inspections/", json={**body, "inspector_ids": [str(team.inspectors[0])]},
                              headers=team.supervisor)
    assert alone.status_code == 422 and alone.json()["field"] == "inspector_ids", alone.text
    assert "两名" in alone.json()["message"]
    uncertified = await make_user(Role.INSPECTOR, department_id=team.department_id, badge_number="")
    pair = [str(team.inspectors[0]), str(uncertified)]
    refused = await client.post("/api/v1/inspections/", json={**body, "inspector_ids": pair}, headers=team.supervisor)
    assert refused.status_code == 422 and "执法证" in refused.json()["message"], refused.text
    assert await Inspection.count() == 0
    ok = await client.post("/api/v1/inspections/", json={**body, "inspector_ids": [str(i) for i in team.inspectors]},
                           headers=team.supervisor)
    assert ok.status_code == 201, ok.text
    # A routine check may go to one officer, with or without a 执法证.
    routine = await client.post("/api/v1/inspections/", json={"enterprise_id": str(team.enterprise_id),
                                                               "inspector_ids": [str(uncertified)]}, headers=team.supervisor)
    assert routine.status_code == 201, routine.text


async def test_a_one_person_patrol_cannot_carry_a_fine_pushed_or_posted(client, team):
    phone = await make_phone(client, team.inspectors[0])
    patrol = uuid.uuid4()
    [opened] = await phone.push(
        [StartInspection(seq=phone.seq(), inspection_id=patrol, enterprise_id=team.enterprise_id, started_at=NOW)]
    )
    assert isinstance(opened, wire.Applied), opened
    proposal = EnforcementProposal(id=uuid.uuid4(), kind=EnforcementKind.FINE, inspection_id=patrol, amount_yuan=50_000,
                                   reason="未按规定对从业人员进行安全生产教育和培训", legal_basis="安全生产法第九十七条")
    [pushed] = await phone.push([ProposeEnforcement(seq=phone.seq(), action=proposal)])
    assert isinstance(pushed, wire.Rejected) and pushed.field == "inspection_id", pushed
    assert "两名" in pushed.message
    posted = await client.post("/api/v1/enforcement-actions/", json=fine(patrol), headers=phone.headers)
    assert posted.status_code == 422 and posted.json()["field"] == "inspection_id", posted.text
    assert await EnforcementAction.count() == 0
    # An order to rectify needs no second officer.
    order = {**fine(patrol), "kind": "rectify_order", "amount_yuan": None, "deadline_date": "2026-12-20"}
    allowed = await client.post("/api/v1/enforcement-actions/", json=order, headers=phone.headers)
    assert allowed.status_code == 201, allowed.text


async def test_a_fine_is_not_decided_once_its_team_no_longer_qualifies(client, team):
    inspection = await team.assign(client)
    phone = await make_phone(client, team.inspectors[0])
    proposed = await client.post("/api/v1/enforcement-actions/", json=fine(inspection), headers=phone.headers)
    assert proposed.status_code == 201, proposed.text
    # The second officer declares a 回避 for the enterprise after the proposal: the fine cannot stand on them.
    declared = await client.post(
        "/api/v1/conflicts-of-interest/",
        json={"user_id": str(team.inspectors[1]), "enterprise_id": str(team.enterprise_id), "reason": "亲属在该企业任职"},
        headers=team.supervisor,
    )
    assert declared.status_code == 201, declared.text
    decided = await client.post(f"/api/v1/enforcement-actions/{proposed.json()['id']}/decision", json={"approve": True},
                                headers=team.supervisor)
    assert decided.status_code == 422 and "回避" in decided.json()["message"], decided.text
    row = await EnforcementAction.select(EnforcementAction.status).first()
    assert row["status"] == "proposed"
    refused = await client.post(f"/api/v1/enforcement-actions/{proposed.json()['id']}/decision",
                                json={"approve": False, "note": "回避"}, headers=team.supervisor)
    assert refused.status_code == 200, refused.text  # refusing it needs no team


async def test_a_fine_is_not_decided_on_a_team_whose_officer_lost_the_certificate(client, team):
    inspection = await team.assign(client)
    phone = await make_phone(client, team.inspectors[0])
    proposed = await client.post("/api/v1/enforcement-actions/", json=fine(inspection), headers=phone.headers)
    assert proposed.status_code == 201, proposed.text
    admin = await login(client, await username_of(await make_user(Role.ADMIN)))
    patched = await client.patch(f"/api/v1/users/{team.inspectors[1]}", json={"badge_number": None}, headers=admin)
    assert patched.status_code == 200, patched.text
    decided = await client.post(f"/api/v1/enforcement-actions/{proposed.json()['id']}/decision", json={"approve": True},
                                headers=team.supervisor)
    assert decided.status_code == 422 and "执法证" in decided.json()["message"], decided.text


# --- signed means locked ------------------------------------------------------------------------


async def _signed(client, team) -> tuple[uuid.UUID, object]:  # type: ignore[no-untyped-def]
    inspection = await team.assign(client)
    phone = await make_phone(client, team.inspectors[0])
    outcomes = await phone.push(answers(phone, inspection, team.items)
                                + [SubmitInspection(seq=phone.seq(), inspection_id=inspection,
                                                    submitted_at=dt.datetime.now(dt.UTC))])  # still on the phones
    assert all(isinstance(o, wire.Applied) for o in outcomes), outcomes
    return inspection, phone


def _hazard(inspection: uuid.UUID) -> HazardCreate:
    return HazardCreate(id=uuid.uuid4(), inspection_id=inspection, level="general", description="配电箱未上锁",
                        deadline_date=dt.date(2026, 12, 20), found_at=NOW)


async def test_a_hazard_pushed_after_the_signing_is_an_amendment_and_refused_over_http(client, team):
    inspection, _ = await _signed(client, team)
    teammate = await make_phone(client, team.inspectors[1])
    hazard = _hazard(inspection)
    [outcome] = await teammate.push([AddHazard(seq=teammate.seq(), hazard=hazard)])
    assert isinstance(outcome, wire.Applied) and outcome.amendment and outcome.entity_type == "amendment", outcome
    assert await Hazard.count() == 0
    amendment = await InspectionAmendment.select().where(InspectionAmendment.id == outcome.entity_id).output(
        load_json=True).first()
    assert amendment["inspection"] == inspection and amendment["payload"]["mutation"] == "add_hazard"
    assert amendment["payload"]["hazard"]["description"] == "配电箱未上锁"
    replica, _ = await teammate.pull_all()
    assert ("amendment", str(outcome.entity_id)) in replica

    body = {"id": str(uuid.uuid4()), "inspection_id": str(inspection), "level": "general",
            "description": "消防通道堵塞", "deadline_date": "2026-12-20"}
    refused = await client.post("/api/v1/hazards/", json=body, headers=teammate.headers)
    assert refused.status_code == 409 and refused.json()["field"] == "inspection_id", refused.text
    assert "签字" in refused.json()["message"]
    assert await Hazard.count() == 0


async def test_a_hazard_before_the_signing_is_a_hazard(client, team):
    inspection = await team.assign(client)
    phone = await make_phone(client, team.inspectors[0])
    [outcome] = await phone.push([AddHazard(seq=phone.seq(), hazard=_hazard(inspection))])
    assert isinstance(outcome, wire.Applied) and not outcome.amendment and outcome.entity_type == "hazard", outcome
    assert await Hazard.count() == 1


async def test_a_violation_after_the_signing_is_refused_with_its_reason_both_ways(client, team):
    inspection, phone = await _signed(client, team)
    violation = ViolationCreate(id=uuid.uuid4(), inspection_id=inspection, person_name="马向东", id_number=PERSON,
                                violation_type=ViolationType.ILLEGAL_OPERATION, description="未佩戴安全带登高作业")
    [outcome] = await phone.push([AddViolation(seq=phone.seq(), violation=violation)])
    assert isinstance(outcome, wire.Rejected) and outcome.code == "state_conflict", outcome
    assert outcome.field == "inspection_id" and "签字" in outcome.message
    body = {"id": str(uuid.uuid4()), "inspection_id": str(inspection), "person_name": "马向东", "id_number": PERSON,
            "violation_type": "illegal_operation", "description": "未佩戴安全带登高作业"}
    refused = await client.post("/api/v1/violations/", json=body, headers=phone.headers)
    assert refused.status_code == 409 and "签字" in refused.json()["message"], refused.text
    assert await ViolationRecord.count() == 0


# --- the pure rules -----------------------------------------------------------------------------

DEPARTMENT, OTHER = uuid.uuid4(), uuid.uuid4()
A, B, C = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()


def facts(status: InspectionStatus = InspectionStatus.IN_PROGRESS, *, team=(A, B), hidden: bool = False) -> InspectionFacts:
    return InspectionFacts(id=uuid.uuid4(), kind=InspectionKind.ROUTINE, status=status, department=DEPARTMENT,
                           enterprise=uuid.uuid4(), team=tuple(team), hidden=hidden, row={})


INSPECTOR_A = Actor(user_id=A, role=Role.INSPECTOR, department_id=DEPARTMENT)
OUTSIDER = Actor(user_id=C, role=Role.INSPECTOR, department_id=DEPARTMENT)
SUPERVISOR = Actor(user_id=uuid.uuid4(), role=Role.SUPERVISOR, department_id=DEPARTMENT)
FOREIGN_SUPERVISOR = Actor(user_id=uuid.uuid4(), role=Role.SUPERVISOR, department_id=OTHER)
LEADER = Actor(user_id=uuid.uuid4(), role=Role.LEADER)
ADMIN = Actor(user_id=uuid.uuid4(), role=Role.ADMIN)


@pytest.mark.parametrize("what", list(Write))
def test_who_writes(what):
    assert access.require_writable(INSPECTOR_A, facts(), what) is Mode.WRITE
    assert access.require_writable(SUPERVISOR, facts(), what) is Mode.WRITE
    for stranger in (OUTSIDER, FOREIGN_SUPERVISOR):
        with pytest.raises(NotFound):
            access.require_writable(stranger, facts(), what)
    with pytest.raises(NotFound):
        access.require_writable(INSPECTOR_A, facts(hidden=True), what)  # a covert check before its release
    with pytest.raises(PermissionDenied):
        access.require_writable(LEADER, facts(), what)
    if what in (Write.HAZARD, Write.VIOLATION, Write.PROPOSAL, Write.FOLLOW_UP):
        with pytest.raises(PermissionDenied):
            access.require_writable(ADMIN, facts(), what)
    else:
        assert access.require_writable(ADMIN, facts(), what) is Mode.WRITE
    with pytest.raises(StateConflict):
        access.require_writable(INSPECTOR_A, facts(InspectionStatus.CANCELLED), what)


def test_what_a_signed_check_takes():
    for status in (InspectionStatus.SUBMITTED, InspectionStatus.REVIEWED):
        for what in (Write.ITEM_RESULT, Write.NOTE, Write.HAZARD, Write.VIOLATION):
            assert access.require_writable(INSPECTOR_A, facts(status), what) is Mode.AMEND
        with pytest.raises(StateConflict):
            access.require_writable(INSPECTOR_A, facts(status), Write.SUBMIT)
        assert access.require_writable(SUPERVISOR, facts(status), Write.PROPOSAL) is Mode.WRITE
    assert access.require_writable(INSPECTOR_A, facts(InspectionStatus.SUBMITTED), Write.EVIDENCE) is Mode.WRITE
    with pytest.raises(StateConflict):
        access.require_writable(INSPECTOR_A, facts(InspectionStatus.REVIEWED), Write.EVIDENCE)


def test_which_team_carries_which_check():
    certified = {A: "6405-01", B: "6405-02", C: None}
    for kind in (InspectionKind.ENFORCEMENT, EnforcementKind.FINE, EnforcementKind.SUSPENSION):
        access.check_team(kind, [A, B], certified, set())
        for members in ([A], [A, C]):
            with pytest.raises(InvalidInput, match="two officers"):
                access.check_team(kind, members, certified, set())
        with pytest.raises(InvalidInput):
            access.check_team(kind, [A, B], {A: "6405-01", B: "  "}, set())
    for kind in (InspectionKind.ROUTINE, InspectionKind.SPOT_CHECK, EnforcementKind.RECTIFY_ORDER):
        access.check_team(kind, [C], certified, set())
    for kind in (InspectionKind.ROUTINE, InspectionKind.ENFORCEMENT, EnforcementKind.FINE):
        with pytest.raises(InvalidInput, match="conflict"):
            access.check_team(kind, [A, B], certified, {B})
    with pytest.raises(InvalidInput):
        access.check_team(InspectionKind.ROUTINE, [], certified, set())
