"""Pull: scoped, paged and resumable, removals on leaving scope, covert targets hidden, both encodings."""

from __future__ import annotations

import gzip
import uuid

import msgspec

from schemas import sync as wire
from schemas.inspections import RecordItemResult
from schemas.vocab import InspectionStatus
from server.inspections.tables import Inspection
from server.sync import scopes
from tests.conftest import app_of
from tests.server.sync.conftest import make_phone


async def test_initial_pull_pages_resume_and_bring_exactly_the_assigned_work(client, team):
    mine = [await team.assign(client, [team.inspectors[0]]) for _ in range(3)]
    other = await team.assign(client, [team.inspectors[1]])
    phone = await make_phone(client, team.inspectors[0])
    for n, inspection in enumerate(mine):
        await phone.push([RecordItemResult(seq=phone.seq(), id=uuid.uuid4(), inspection_id=inspection,
                                           item_id=item, outcome="pass") for item in team.items])

    # page by page, as if the phone died between pages: each page's cursors are all it keeps
    records, cursors, pages = {}, {}, 0
    while True:
        page = await phone.pull(cursors, limit=4)
        pages += 1
        for change in page.changes:
            assert isinstance(change, wire.Put)
            key = (change.entity_type, str(change.entity_id))
            assert key not in records or change.entity_type == "inspection"
            records[key] = msgspec.msgpack.decode(change.record)
        cursors = page.cursors
        if not page.has_more:
            break
    assert pages > 3
    inspections = {k[1] for k in records if k[0] == "inspection"}
    assert inspections == {str(i) for i in mine}
    assert str(other) not in {r.get("inspection_id") for r in records.values()}
    assert sum(1 for k in records if k[0] == "item_result") == 3 * len(team.items)
    assert set(cursors) == {scopes.user(phone.user_id), *(scopes.inspection(i) for i in mine),
                            scopes.enterprise(team.enterprise_id), scopes.template(team.template_id)}

    again = await phone.pull(cursors)
    assert again.changes == [] and not again.has_more


async def test_records_leaving_scope_arrive_as_dropped_scopes_and_the_rest_stays(client, team):
    keep, leave = await team.assign(client, [team.inspectors[0]]), await team.assign(client, [team.inspectors[0]])
    phone = await make_phone(client, team.inspectors[0])
    replica, cursors = await phone.pull_all()
    assert ("inspection", str(leave)) in replica
    await Inspection.update({Inspection.status: InspectionStatus.CANCELLED}).where(Inspection.id == leave)
    page = await phone.pull(cursors)
    assert page.dropped_scopes == [scopes.inspection(leave)]
    replica, _ = await phone.pull_all()
    assert ("inspection", str(keep)) in replica and ("inspection", str(leave)) not in replica


async def test_a_covert_check_cannot_be_assigned_by_hand_so_no_phone_sees_its_target(client, team):
    # Covert checks come only from a spot-check release (tests/server/spotchecks: nothing reaches the team before it).
    body = {"enterprise_id": str(team.enterprise_id), "template_id": str(team.template_id),
            "inspector_ids": [str(team.inspectors[0])], "kind": "covert"}
    refused = await client.post("/api/v1/inspections/", json=body, headers=team.supervisor)
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "invalid_input" and refused.json()["field"] == "kind"
    assert "暗查暗访" in refused.json()["message"]
    assert await Inspection.count() == 0
    phone = await make_phone(client, team.inspectors[0])
    replica, cursors = await phone.pull_all()
    assert not any(k[0] in ("inspection", "enterprise") for k in replica)
    assert all(not k.startswith(("inspection:", "enterprise:")) for k in cursors)
    listed = await client.get("/api/v1/inspections/", headers=phone.headers)
    assert listed.json() == []
    # Any other kind is assigned as before.
    await team.assign(client, [team.inspectors[0]], kind="spot_check")
    replica, _ = await phone.pull_all(cursors)
    assert any(k[0] == "inspection" for k in replica)


async def test_json_and_gzip_by_negotiation(client, team):
    for _ in range(3):
        await team.assign(client, [team.inspectors[0]])
    phone = await make_phone(client, team.inspectors[0])
    body = msgspec.json.encode(wire.PullRequest(device_id=phone.device_id))
    response = await client.post("/api/v1/sync/pull", content=gzip.compress(body), headers={
        **phone.headers, "content-type": "application/json", "content-encoding": "gzip",
        "accept": "application/json", "accept-encoding": "gzip"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers.get("content-encoding") == "gzip"  # httpx inflated it for us
    page = msgspec.json.decode(response.content, type=wire.PullResponse)
    as_json = [msgspec.json.decode(c.record) for c in page.changes if isinstance(c, wire.Put)]
    assert sum(1 for r in as_json if "enterprise_id" in r) == 3

    packed = await phone.pull({})
    assert len(packed.changes) == len(page.changes)


async def test_a_removed_record_arrives_as_remove_only_for_phones_that_held_it(client, team):
    from server import database
    from server.sync import service as sync_service

    inspection = await team.assign(client, [team.inspectors[0]])
    phone = await make_phone(client, team.inspectors[0])
    note_id = uuid.uuid4()

    class Note(msgspec.Struct):
        text: str

    async with database.transaction():
        await sync_service.publish("note", note_id, Note(text="临时"), scope=scopes.inspection(inspection))
    replica, cursors = await phone.pull_all()
    assert replica[("note", str(note_id))] == {"text": "临时"}
    async with database.transaction():
        await sync_service.publish("note", note_id, None, scope=scopes.inspection(inspection))
    page = await phone.pull(cursors)
    assert [(type(c).__name__, c.entity_id) for c in page.changes] == [("Remove", note_id)]
    fresh = await make_phone(client, team.inspectors[0])
    first = await fresh.pull({})
    assert not any(c.entity_id == note_id for c in first.changes)  # nothing to remove on a new phone


async def test_a_registered_enterprise_reaches_the_phone_of_its_assigned_team_only(client, team):
    from schemas.vocab import Role
    from tests.conftest import login, make_user, random_credit_code, username_of

    admin = await login(client, await username_of(await make_user(Role.ADMIN)))
    body = {"credit_code": random_credit_code(), "name": "中卫市某某化工有限公司", "sector": "hazardous_chemicals",
            "district": "zhongning", "risk_grade": "C", "standardization_level": "level_2"}
    created = await client.post("/api/v1/enterprises/", json=body, headers=admin)
    assert created.status_code == 201, created.text
    enterprise_id = created.json()["id"]
    team.enterprise_id = uuid.UUID(enterprise_id)
    await team.assign(client, [team.inspectors[0]])

    assigned, _ = await (await make_phone(client, team.inspectors[0])).pull_all()
    assert assigned[("enterprise", enterprise_id)]["name"] == "中卫市某某化工有限公司"
    other, _ = await (await make_phone(client, team.inspectors[1])).pull_all()
    assert ("enterprise", enterprise_id) not in other


async def test_a_page_budget_unused_by_small_scopes_goes_to_the_large_one(client):
    """150 scopes of one record and one of 500: the pull takes a few full pages, not one share per scope."""
    from server import database
    from server.sync import service as sync_service

    class Note(msgspec.Struct):
        n: int

    small = [scopes.inspection(uuid.uuid4()) for _ in range(150)]
    large = scopes.inspection(uuid.uuid4())
    async with database.transaction():
        sync_service.publish_many([("note", uuid.uuid4(), Note(n=0), key) for key in small])
        sync_service.publish_many([("note", uuid.uuid4(), Note(n=n), large) for n in range(500)])
    cursors = {key: 0 for key in [*small, large]}
    seen: list[uuid.UUID] = []
    pages = 0
    while True:
        async with database.transaction():
            hw = await sync_service.high_watermark()
            rows, cursors, more = await sync_service.read(cursors, hw, 200)
        pages += 1
        assert len(rows) <= 200 + len(cursors)  # a share is at least one row per open scope
        seen.extend(r[3] for r in rows)
        if not more:
            break
    assert len(seen) == len(set(seen)) == 650
    assert pages <= 5, f"{pages} round trips for 650 rows at 200 a page"


async def test_a_submitted_check_leaves_the_phone_once_its_keeping_time_is_over(client, team):
    """Signed a week ago on a phone that was offline since: at its first sync the check goes, a fresh one stays."""
    import datetime as dt

    from schemas.inspections import SubmitInspection
    from tests.server.sync.conftest import answers

    keep = dt.timedelta(hours=app_of(client).state.settings.sync.keep_submitted_hours)
    old, new = await team.assign(client, [team.inspectors[0]]), await team.assign(client, [team.inspectors[0]])
    phone = await make_phone(client, team.inspectors[0])
    _, cursors = await phone.pull_all()
    assert {scopes.inspection(old), scopes.inspection(new)} <= set(cursors)
    now = dt.datetime.now(dt.UTC)
    outcomes = await phone.push([
        *answers(phone, old, team.items), SubmitInspection(seq=phone.seq(), inspection_id=old, submitted_at=now - keep - dt.timedelta(hours=1)),
        *answers(phone, new, team.items), SubmitInspection(seq=phone.seq(), inspection_id=new, submitted_at=now),
    ])
    assert all(isinstance(o, wire.Applied) for o in outcomes), outcomes
    page = await phone.pull(cursors)
    assert scopes.inspection(old) in page.dropped_scopes
    assert scopes.inspection(new) not in page.dropped_scopes and scopes.inspection(new) in page.cursors
