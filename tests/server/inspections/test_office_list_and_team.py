"""The office's list of checks (filters, pages) and naming a planned check's team (回避 held)."""

from __future__ import annotations

import datetime as dt
import uuid

from schemas.inspections import StartInspection
from schemas import sync as wire
from schemas.vocab import District, Role, Sector
from server.audit.tables import AuditEntry
from tests.conftest import login, make_department, make_enterprise, make_user, username_of
from tests.server.sync.conftest import make_phone, team  # noqa: F401  (fixture)
from tests.dates import bureau_today

BASE = "/api/v1/inspections/"


async def ids(client, headers, **params) -> list[str]:
    response = await client.get(BASE, params=params, headers=headers)
    assert response.status_code == 200, response.text
    return [r["id"] for r in response.json()]


async def test_the_list_narrows_by_status_place_sector_inspector_and_date_and_pages(client, team):
    zhongning = await make_enterprise(district=District.ZHONGNING, sector=Sector.METALLURGY)
    today = bureau_today()
    a = await team.assign(client, [team.inspectors[0]], planned_date=today.isoformat())
    b = await team.assign(client, [team.inspectors[1]], planned_date=(today + dt.timedelta(days=10)).isoformat(),
                          enterprise_id=str(zhongning))
    c = await team.assign(client, planned_date=(today + dt.timedelta(days=3)).isoformat())
    phone = await make_phone(client, team.inspectors[0])
    [started] = await phone.push([StartInspection(seq=phone.seq(), inspection_id=c, started_at=dt.datetime.now(dt.UTC))])
    assert isinstance(started, wire.Applied), started
    h = team.supervisor

    assert set(await ids(client, h)) == {str(a), str(b), str(c)}
    assert await ids(client, h, status="in_progress") == [str(c)]
    assert await ids(client, h, district="zhongning") == [str(b)]
    assert await ids(client, h, sector="metallurgy") == [str(b)]
    assert set(await ids(client, h, inspector_id=str(team.inspectors[1]))) == {str(b), str(c)}
    window = {"date_from": today.isoformat(), "date_to": (today + dt.timedelta(days=5)).isoformat()}
    assert set(await ids(client, h, **window)) == {str(a), str(c)}
    first, second = await ids(client, h, limit=2), await ids(client, h, limit=2, offset=2)
    assert len(first) == 2 and len(second) == 1 and not set(first) & set(second)

    outsider = await login(client, await username_of(await make_user(Role.SUPERVISOR, department_id=await make_department())))
    assert await ids(client, outsider) == []
    mine = await login(client, await username_of(team.inspectors[0]))
    assert set(await ids(client, mine)) == {str(a), str(c)}
    bad = await client.get(BASE, params={"date_from": "0001-01-01"}, headers=h)
    assert bad.status_code == 422 and bad.json()["code"] == "date_out_of_range", bad.text


async def test_a_supervisor_names_a_planned_checks_pair_and_the_conflicted_officer_is_refused(client, team):
    third = await make_user(Role.INSPECTOR, department_id=team.department_id)
    inspection = await team.assign(client, [team.inspectors[0]])
    url = f"{BASE}{inspection}/team"
    declared = await client.post("/api/v1/conflicts-of-interest/", headers=team.supervisor, json={
        "user_id": str(third), "enterprise_id": str(team.enterprise_id), "reason": "其配偶在该企业任安全员"})
    assert declared.status_code == 201, declared.text

    refused = await client.post(url, json={"inspector_ids": [str(team.inspectors[1]), str(third)]}, headers=team.supervisor)
    assert refused.status_code == 422 and refused.json()["field"] == "inspector_ids" and "回避" in refused.json()["message"]

    done = await client.post(url, json={"inspector_ids": [str(team.inspectors[1]), str(team.inspectors[0])]},
                             headers=team.supervisor)
    assert done.status_code == 200, done.text
    assert done.json()["lead_inspector_id"] == str(team.inspectors[1])
    assert set(done.json()["inspector_ids"]) == {str(i) for i in team.inspectors}
    entry = await AuditEntry.select().where(
        (AuditEntry.action == "inspection.assign") & (AuditEntry.entity_id == str(inspection))
    ).output(load_json=True).first()
    assert entry["changes"]["inspector_ids"][1] == [str(team.inspectors[1]), str(team.inspectors[0])]

    for role in (Role.LEADER, Role.INSPECTOR):
        other = await login(client, await username_of(await make_user(role, department_id=team.department_id)))
        assert (await client.post(url, json={"inspector_ids": [str(team.inspectors[0])]}, headers=other)).status_code == 403
    outsider = await login(client, await username_of(await make_user(Role.SUPERVISOR, department_id=await make_department())))
    assert (await client.post(url, json={"inspector_ids": [str(team.inspectors[0])]}, headers=outsider)).status_code == 404

    phone = await make_phone(client, team.inspectors[1])
    [started] = await phone.push([StartInspection(seq=phone.seq(), inspection_id=inspection, started_at=dt.datetime.now(dt.UTC))])
    assert isinstance(started, wire.Applied), started
    late = await client.post(url, json={"inspector_ids": [str(team.inspectors[0])]}, headers=team.supervisor)
    assert late.status_code == 409 and late.json()["field"] == "status", late.text


async def test_an_enforcement_check_keeps_two_officers_when_renamed(client, team):
    inspection = await team.assign(client, kind="enforcement")
    refused = await client.post(f"{BASE}{inspection}/team", json={"inspector_ids": [str(team.inspectors[0])]},
                                headers=team.supervisor)
    assert refused.status_code == 422 and "两名" in refused.json()["message"], refused.text


async def test_a_checks_item_results_and_history_are_read_by_who_may_see_it(client, team):
    from tests.server.sync.conftest import answers

    inspection = await team.assign(client)
    phone = await make_phone(client, team.inspectors[0])
    outcomes = await phone.push(answers(phone, inspection, team.items[:2], "fail"))
    assert all(isinstance(o, wire.Applied) for o in outcomes), outcomes
    results = await client.get(f"{BASE}{inspection}/item-results", headers=team.supervisor)
    assert results.status_code == 200 and {r["outcome"] for r in results.json()} == {"fail"} and len(results.json()) == 2
    history = await client.get(f"{BASE}{inspection}/history", headers=team.supervisor)
    assert history.status_code == 200, history.text
    actions = [e["action"] for e in history.json()]
    assert actions[0] == "inspection.create" and "inspection.item_results" in actions
    written = next(e for e in history.json() if e["action"] == "inspection.item_results")
    assert len(written["changes"]["results"]) == 2
    seqs = [e["seq"] for e in history.json()]
    assert seqs == sorted(seqs)
    outsider = await login(client, await username_of(await make_user(Role.SUPERVISOR, department_id=await make_department())))
    for path in ("item-results", "history"):
        assert (await client.get(f"{BASE}{inspection}/{path}", headers=outsider)).status_code == 404
