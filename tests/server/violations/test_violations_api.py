"""The 三违 register against PostgreSQL: ID checks, masking, protected full numbers, repeat offenders."""

from __future__ import annotations

import datetime as dt
import uuid

import httpx

from schemas import sync as sync_wire
from schemas import violations as vw
from schemas.identifiers import id_number_check_char
from schemas.vocab import ViolationType
from server.audit.tables import AuditEntry
from server.violations.tables import ViolationRecord
from tests.server.hazards.factories import World, make_phone


def id_number(region: str = "640502", born: str = "19850317", serial: str = "123") -> str:
    first17 = region + born + serial
    return first17 + id_number_check_char(first17)


PERSON = id_number()  # the same worker, met twice
OTHER = id_number(born="19920704", serial="456")


def record(inspection_id: uuid.UUID, number: str = PERSON, **overrides) -> dict:
    data = {
        "id": str(uuid.uuid4()),
        "inspection_id": str(inspection_id),
        "person_name": "马向东",
        "id_number": number,
        "violation_type": "illegal_operation",
        "description": "未佩戴安全带登高作业",
        "post": "电工",
        "certificate_required": True,
        "certificate_held": False,
    }
    data.update(overrides)
    return data


async def test_invalid_id_number_is_refused_naming_the_field_and_nothing_written(client: httpx.AsyncClient, world: World):
    inspection = await world.inspection()
    headers = await world.headers(world.inspectors[0])
    before = await AuditEntry.count()
    wrong_check = PERSON[:17] + ("0" if PERSON[17] != "0" else "1")
    for bad in (wrong_check, "64050219850231123X", "12345"):
        response = await client.post("/api/v1/violations/", json=record(inspection, bad), headers=headers)
        assert response.status_code == 422, response.text
        problem = response.json()
        assert problem["field"] == "id_number" and problem["code"] == "invalid_id_number"
        assert "身份证" in problem["message"]
    assert await ViolationRecord.count() == 0
    assert await AuditEntry.count() == before


async def test_number_is_masked_everywhere_and_opened_only_for_the_supervisor(client: httpx.AsyncClient, world: World):
    inspection = await world.inspection()
    inspector = await world.headers(world.inspectors[0])
    response = await client.post("/api/v1/violations/", json=record(inspection), headers=inspector)
    assert response.status_code == 201, response.text
    shown = response.json()
    assert shown["id_number_masked"] == PERSON[:6] + "*" * 11 + PERSON[-1]
    assert PERSON not in response.text
    row = await ViolationRecord.select().where(ViolationRecord.id == uuid.UUID(shown["id"])).first()
    assert PERSON not in row["id_number_protected"] and PERSON not in row["id_number_hash"]
    audit = await AuditEntry.select(AuditEntry.changes).where(AuditEntry.entity_id == shown["id"]).output(load_json=True)
    assert audit and PERSON not in str(audit)

    leader = await world.headers(world.leader_id)
    listed = await client.get("/api/v1/violations/", headers=leader)
    assert listed.status_code == 200 and PERSON not in listed.text and len(listed.json()) == 1

    for headers in (inspector, leader):
        assert (await client.post(f"/api/v1/violations/{shown['id']}/id-number", headers=headers)).status_code == 403
    opened = await client.post(f"/api/v1/violations/{shown['id']}/id-number", headers=await world.headers(world.supervisor_id))
    assert opened.status_code == 200 and opened.json()["id_number"] == PERSON
    actions = [r["action"] for r in await AuditEntry.select(AuditEntry.action).where(AuditEntry.entity_id == shown["id"])]
    assert "violation.reveal_id_number" in actions


async def test_same_person_at_two_enterprises_offline_is_one_repeat_offender(client: httpx.AsyncClient, world: World):
    first = await world.inspection(team=world.inspectors[:2], enterprise_id=world.enterprise_id)
    second = await world.inspection(team=world.inspectors[2:], enterprise_id=world.other_enterprise_id)
    phone_a = await make_phone(client, world.inspectors[0])
    phone_b = await make_phone(client, world.inspectors[2])
    when = dt.datetime(2023, 6, 1, 10, tzinfo=dt.UTC)

    def add(phone, inspection_id, number, name, kind):
        return vw.AddViolation(
            seq=phone.seq(),
            violation=vw.ViolationCreate(
                id=uuid.uuid4(), inspection_id=inspection_id, person_name=name, id_number=number,
                violation_type=kind, description="无证从事焊接作业", recorded_at=when,
                certificate_required=True, certificate_held=False,
            ),
        )

    # The second inspector types the check letter in lower case with a space: still the same person.
    spaced = PERSON[:6] + " " + PERSON[6:].lower()
    outcomes_a = await phone_a.push([
        add(phone_a, first, PERSON, "马向东", ViolationType.ILLEGAL_OPERATION),
        add(phone_a, first, OTHER, "李春花", ViolationType.LABOR_DISCIPLINE),
    ])
    outcomes_b = await phone_b.push([add(phone_b, second, spaced, "马向东", ViolationType.ILLEGAL_COMMAND)])
    assert all(isinstance(o, sync_wire.Applied) for o in outcomes_a + outcomes_b), (outcomes_a, outcomes_b)

    supervisor = await world.headers(world.supervisor_id)
    offenders = (await client.get("/api/v1/violations/repeat-offenders", headers=supervisor)).json()
    assert len(offenders) == 1
    (person,) = offenders
    assert person["records"] == 2 and person["person_name"] == "马向东"
    assert set(person["enterprise_ids"]) == {str(world.enterprise_id), str(world.other_enterprise_id)}
    assert person["by_type"] == {"illegal_operation": 1, "illegal_command": 1}
    assert person["without_certificate"] == 2
    assert person["id_number_masked"] == PERSON[:6] + "*" * 11 + PERSON[-1]
    across = (await client.get("/api/v1/violations/repeat-offenders?min_enterprises=2",
                               headers=await world.headers(world.leader_id))).json()
    assert [p["person_key"] for p in across] == [person["person_key"]]
    later = await client.get("/api/v1/violations/repeat-offenders", params={"since": "2023-06-02T00:00:00+08:00"},
                             headers=supervisor)
    assert later.status_code == 200 and later.json() == []  # both records fall before the window
    history = (await client.get(f"/api/v1/violations/?person_key={person['person_key']}", headers=supervisor)).json()
    assert len(history) == 2
    assert (await client.get("/api/v1/violations/repeat-offenders",
                             headers=await world.headers(world.inspectors[0]))).status_code == 403

    # Looking the person up by number finds both records, wherever recorded; a bad number is refused.
    found = await client.post("/api/v1/violations/person-lookup", json={"id_number": spaced}, headers=supervisor)
    assert found.status_code == 200 and len(found.json()) == 2 and PERSON not in found.text
    wrong = await client.post("/api/v1/violations/person-lookup", json={"id_number": PERSON[:16] + "00"}, headers=supervisor)
    assert wrong.status_code == 422 and wrong.json()["field"] == "id_number"
    assert (await client.post("/api/v1/violations/person-lookup", json={"id_number": PERSON},
                              headers=await world.headers(world.inspectors[0]))).status_code == 403

    # Offline, an invalid number comes back to the phone as rejected with the field named.
    bad = await phone_a.push([add(phone_a, first, PERSON[:17] + "0" if PERSON[17] != "0" else PERSON[:17] + "1",
                                  "王五", ViolationType.ILLEGAL_OPERATION)])
    assert isinstance(bad[0], sync_wire.Rejected) and bad[0].field == "id_number" and bad[0].code == "invalid_id_number"
    assert await ViolationRecord.count() == 3


async def test_only_the_team_records_and_supervisor_disposes(client: httpx.AsyncClient, world: World):
    inspection = await world.inspection(team=world.inspectors[:2])
    outsider = await world.headers(world.inspectors[3])
    assert (await client.post("/api/v1/violations/", json=record(inspection), headers=outsider)).status_code == 404
    assert (await client.post("/api/v1/violations/", json=record(inspection),
                              headers=await world.headers(world.leader_id))).status_code == 403
    created = await client.post("/api/v1/violations/", json=record(inspection), headers=await world.headers(world.inspectors[1]))
    violation_id = created.json()["id"]
    assert (await client.get(f"/api/v1/violations/{violation_id}", headers=outsider)).status_code == 404
    disposed = await client.post(
        f"/api/v1/violations/{violation_id}/disposition", json={"disposition": "批评教育，停岗培训后持证上岗"},
        headers=await world.headers(world.supervisor_id),
    )
    assert disposed.status_code == 200 and disposed.json()["disposition"].startswith("批评教育")
    duplicate = await client.post("/api/v1/violations/", json={**record(inspection), "id": violation_id},
                                  headers=await world.headers(world.inspectors[1]))
    assert duplicate.status_code == 409 and duplicate.json()["code"] == "duplicate"
