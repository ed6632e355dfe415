"""Spot-check campaigns through the API, the change feed and the CLI, on PostgreSQL."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import hashlib
import io
import json
import uuid

import msgspec

from schemas import sync as sync_wire
from schemas.hazards import AddHazard, HazardCreate
from schemas.inspections import SubmitInspection
from schemas.vocab import Role
from server import database
from server.accounts.policy import Actor
from server.accounts.tables import User
from server.audit.tables import AuditEntry
from server.inspections.tables import Inspection, InspectionInspector
from server.registry.tables import ConflictOfInterest, Enterprise
from server.spotchecks import release as spotcheck_release
from server.spotchecks import tasks as spotcheck_tasks
from tests.conftest import context_at, login, make_user, username_of
from tests.server.spotchecks.conftest import BASE, World, target_traces
from tests.server.sync.conftest import answers
from tests.server.test_cli import _clean_env, _run

MSGPACK = "application/msgpack"


def parse_instant(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


async def release(world: World, now: dt.datetime) -> int:
    return await spotcheck_release.release_due_tasks(context_at(world.client, now))


async def raw_pulls(world: World, user_id: uuid.UUID) -> list[bytes]:
    """The whole pull as raw bytes, in both encodings a phone may use."""
    phone = await world.phone(user_id)
    bodies = []
    for content_type, encode in ((MSGPACK, msgspec.msgpack.encode), ("application/json", msgspec.json.encode)):
        request = sync_wire.PullRequest(device_id=phone.device_id, cursors={}, limit=2000)
        response = await world.client.post(
            "/api/v1/sync/pull", content=encode(request),
            headers={**phone.headers, "content-type": content_type, "accept": content_type},
        )
        assert response.status_code == 200, response.text
        bodies.append(response.content)
    return bodies


async def api_views(world: World, user_id: uuid.UUID, enterprise_ids: list[uuid.UUID]) -> list[bytes]:
    """What an inspector's API calls return: their tasks, inspections, registry searches and lookups."""
    headers = await world.as_user(user_id)
    bodies = []
    for path in ("/my-tasks",):
        response = await world.client.get(BASE + path, headers=headers)
        assert response.status_code == 200, response.text
        bodies.append(response.content)
    for path in ("/api/v1/inspections/", "/api/v1/enterprises/?limit=200", "/api/v1/enterprises/?q=暗访目标"):
        response = await world.client.get(path, headers=headers)
        assert response.status_code == 200, (path, response.text)
        bodies.append(response.content)
    for enterprise_id in enterprise_ids:
        response = await world.client.get(f"/api/v1/enterprises/{enterprise_id}", headers=headers)
        assert response.status_code == 404, response.text
        bodies.append(response.content)
    return bodies


def changes(pull_json: bytes) -> dict[tuple[str, str], dict | None]:
    """``(entity_type, id) -> record`` of a JSON pull (None for a removal)."""
    page = msgspec.json.decode(pull_json, type=sync_wire.PullResponse)
    return {
        (c.entity_type, str(c.entity_id)): msgspec.json.decode(c.record) if isinstance(c, sync_wire.Put) else None
        for c in page.changes
    }


def leaks(bodies: list[bytes], traces: list[bytes]) -> list[bytes]:
    return [t for body in bodies for t in traces if t in body]


# --- the draw ----------------------------------------------------------------------------


async def test_a_draw_commits_its_hashes_before_it_reveals_and_verifies(world: World) -> None:
    campaign = await world.campaign()
    draw = await world.draw(campaign["id"])
    assert draw["revealed"] and draw["task_count"] == 3 and draw["eligible_count"] == 6
    assert hashlib.sha256(bytes.fromhex(draw["seed_hex"])).hexdigest() == draw["seed_hash"]
    assert draw["algorithm_version"] == "fc-draw-v1"

    entries = await AuditEntry.select().where(AuditEntry.entity_id == draw["id"]).order_by(AuditEntry.seq).output(load_json=True)
    assert [e["action"] for e in entries] == ["spot_check.draw_commit", "spot_check.draw_result"]
    commit, result = entries
    assert commit["seq"] < result["seq"] and commit["at"] < result["at"]  # separate, earlier transaction
    assert {k: commit["changes"][k] for k in ("seed_hash", "pool_hash", "algorithm_version")} == {
        k: draw[k] for k in ("seed_hash", "pool_hash", "algorithm_version")
    }
    assert "seed_hex" not in json.dumps(commit["changes"]) and draw["seed_hex"] not in json.dumps(commit["changes"])
    assert result["changes"]["result_hash"] == draw["result_hash"]

    tasks = await world.tasks(campaign["id"])
    assert len(tasks) == 3 and len({t["enterprise_id"] for t in tasks}) == 3
    start, end = dt.date.fromisoformat(campaign["period_start"]), dt.date.fromisoformat(campaign["period_end"])
    for task in tasks:
        assert uuid.UUID(task["enterprise_id"]) in world.enterprises
        assert len(task["team"]) == 2 == len(set(task["team"])) and {uuid.UUID(u) for u in task["team"]} <= set(world.inspectors)
        day = dt.date.fromisoformat(task["planned_date"])
        assert start <= day <= end
        local_release = parse_instant(task["release_at"]).astimezone(dt.timezone(dt.timedelta(hours=8)))
        assert (local_release.date(), local_release.hour, local_release.minute) == (day, 7, 0)
        assert task["status"] == "drawn" and task.get("inspection_id") is None

    verification = await world.client.get(f"{BASE}/draws/{draw['id']}/verify", headers=world.supervisor)
    assert verification.status_code == 200, verification.text
    report = verification.json()
    assert report["ok"] is True and report.get("differences", []) == []
    assert {c["name"] for c in report["checks"]} >= {
        "seed_hash", "pool_hash", "commitment_recorded", "commitment_matches", "result_recorded",
        "committed_before_revealed", "result_hash", "rerun",
    }


async def test_an_enforcement_campaign_refuses_a_team_of_one(world: World) -> None:
    response = await world.client.post(
        f"{BASE}/campaigns",
        json={"name": "x", "period_start": "2030-01-01", "period_end": "2030-01-31", "enforcement": True,
              "rules": {"sample_size": 1, "team_size": 1}},
        headers=world.supervisor,
    )
    assert response.status_code == 422, response.text
    assert response.json()["field"] == "rules.team_size"
    unknown = await world.client.post(
        f"{BASE}/campaigns", json={"name": "x", "period_start": "2030-01-01", "period_end": "2030-01-31",
                                   "rules": {"sample_size": 1, "seed": "chosen"}},
        headers=world.supervisor,
    )
    assert unknown.status_code == 400, unknown.text


async def test_a_declared_conflict_keeps_an_officer_off_every_team(world: World) -> None:
    conflicted = world.inspectors[0]
    now = dt.datetime.now(dt.UTC)
    await ConflictOfInterest.insert(
        *[ConflictOfInterest(id=uuid.uuid4(), user=conflicted, enterprise=e, reason="亲属在该企业任职", declared_at=now)
          for e in world.enterprises]
    )
    campaign = await world.campaign(rules={"sample_size": 6})
    await world.draw(campaign["id"])
    tasks = await world.tasks(campaign["id"])
    assert len(tasks) == 6
    assert all(str(conflicted) not in t["team"] for t in tasks)


async def test_recently_inspected_enterprises_are_excluded(world: World) -> None:
    now = dt.datetime.now(dt.UTC)
    recent = world.enterprises[0]
    inspection_id = uuid.uuid4()
    await Inspection.insert(
        Inspection(id=inspection_id, kind="routine", status="submitted", enterprise=recent, submitted_at=now - dt.timedelta(days=3),
                   created_at=now, updated_at=now, version=1)
    )
    await InspectionInspector.insert(
        InspectionInspector(id=uuid.uuid4(), inspection=inspection_id, user=world.inspectors[0], is_lead=True, assigned_at=now)
    )
    campaign = await world.campaign(rules={"sample_size": 6, "exclude_inspected_within_days": 30})
    draw = await world.draw(campaign["id"])
    assert draw["eligible_count"] == 5 and draw["task_count"] == 5
    assert draw["excluded"] == [{"reason": "recent", "label": "近期已检查", "count": 1}]
    assert str(recent) not in {t["enterprise_id"] for t in await world.tasks(campaign["id"])}


async def test_a_redraw_needs_a_reason_and_withdraws_the_first_draw(world: World) -> None:
    campaign = await world.campaign()
    first = await world.draw(campaign["id"])
    first_tasks = await world.tasks(campaign["id"])
    again = await world.client.post(f"{BASE}/campaigns/{campaign['id']}/draws", json={}, headers=world.supervisor)
    assert again.status_code == 422 and again.json()["field"] == "reason"

    second = await world.draw(campaign["id"], reason="一名执法人员长期病假，检查组需重新组成")
    assert second["attempt"] == 2 and second["seed_hash"] != first["seed_hash"]
    draws = (await world.client.get(f"{BASE}/campaigns/{campaign['id']}/draws", headers=world.supervisor)).json()
    assert [(d["attempt"], d.get("superseded", False)) for d in draws] == [(1, True), (2, False)]
    commit = await AuditEntry.select(AuditEntry.changes).where(
        (AuditEntry.entity_id == second["id"]) & (AuditEntry.action == "spot_check.draw_commit")
    ).output(load_json=True).first()
    assert commit["changes"]["reason"] == "一名执法人员长期病假，检查组需重新组成"

    statuses = {t["id"]: t["status"] for t in await world.tasks(campaign["id"])}
    assert all(statuses[t["id"]] == "cancelled" for t in first_tasks)
    member = uuid.UUID(first_tasks[0]["team"][0])
    mine = (await world.client.get(f"{BASE}/my-tasks", headers=await world.as_user(member))).json()
    assert not {t["id"] for t in mine} & {t["id"] for t in first_tasks}
    # The superseded draw still verifies: nothing about it was rewritten.
    report = (await world.client.get(f"{BASE}/draws/{first['id']}/verify", headers=world.supervisor)).json()
    assert report["ok"], report


# --- covert release -------------------------------------------------------------------------


async def test_before_release_no_trace_of_the_target_reaches_the_team(world: World) -> None:
    campaign = await world.campaign()
    await world.draw(campaign["id"])
    tasks = await world.tasks(campaign["id"])
    targets = [uuid.UUID(t["enterprise_id"]) for t in tasks]
    traces = [trace for e in targets for trace in await target_traces(e)]
    team_members = {uuid.UUID(u) for t in tasks for u in t["team"]}

    for member in team_members:
        pulls = await raw_pulls(world, member)
        assert leaks(pulls, traces) == []
        views = await api_views(world, member, targets)
        assert leaks(views, traces) == []
        assigned = [r for (kind, _), r in changes(pulls[1]).items() if kind == "spot_check_task"]
        mine = [t for t in tasks if str(member) in t["team"]]
        assert sorted(r["id"] for r in assigned) == sorted(t["id"] for t in mine)
        for record in assigned:
            task = next(t for t in tasks if t["id"] == record["id"])
            assert record["planned_date"] == task["planned_date"] and record["district"] == task["district"]
            assert "enterprise_id" not in record and "inspection_id" not in record
        denied = await world.client.get(f"{BASE}/campaigns/{campaign['id']}/tasks", headers=await world.as_user(member))
        assert denied.status_code == 403

    # Nobody but the campaign's own supervisor sees the targets.
    colleague = await make_user(Role.SUPERVISOR, department_id=world.department_id)
    leader = await make_user(Role.LEADER)
    for other in (colleague, leader):
        headers = await world.as_user(other)
        tasks_view = await world.client.get(f"{BASE}/campaigns/{campaign['id']}/tasks", headers=headers)
        assert tasks_view.status_code == 403
        draw_id = (await world.client.get(f"{BASE}/campaigns/{campaign['id']}/draws", headers=headers)).json()[0]["id"]
        assert (await world.client.get(f"{BASE}/draws/{draw_id}/verify", headers=headers)).status_code == 403
        progress = await world.client.get(f"{BASE}/campaigns/{campaign['id']}/progress", headers=headers)
        assert progress.status_code == 200 and progress.json()["drawn"] == 3
        inspections = await world.client.get("/api/v1/inspections/", headers=headers)
        assert leaks([progress.content, inspections.content, tasks_view.content], traces) == []

    # Release the earliest task only: its team sees its target, the rest stays hidden.
    first = min(tasks, key=lambda t: t["release_at"])
    first_at = parse_instant(first["release_at"])
    assert await release(world, first_at - dt.timedelta(seconds=1)) == 0
    released_now = [t for t in tasks if parse_instant(t["release_at"]) <= first_at]
    assert await release(world, first_at) == len(released_now)
    still_hidden = [t for t in tasks if t not in released_now]
    hidden_traces = [trace for t in still_hidden for trace in await target_traces(uuid.UUID(t["enterprise_id"]))]

    for task in released_now:
        for member in map(uuid.UUID, task["team"]):
            pulls = await raw_pulls(world, member)
            target = task["enterprise_id"]
            by_type = changes(pulls[1])
            # The detector sees the target once it may be seen: id, name, code, address and place, in both encodings.
            traces_of_target = await target_traces(uuid.UUID(target))
            seen = set(leaks(pulls, traces_of_target))
            assert set(traces_of_target[:1] + traces_of_target[3:6]) <= seen  # id, name, code, address
            assert len(seen) == 8  # … and longitude, latitude as JSON numbers and as MessagePack floats
            assert by_type[("spot_check_task", task["id"])]["enterprise_id"] == target
            enterprise = by_type[("enterprise", target)]
            assert enterprise["name"].startswith("中卫市暗访目标化工")
            inspection = next(r for (kind, _), r in by_type.items() if kind == "inspection")
            assert inspection["enterprise_id"] == target and inspection["kind"] == "covert"
            assert sorted(inspection["inspector_ids"]) == sorted(task["team"])
            assert inspection["lead_inspector_id"] == task["team"][0]
            headers = await world.as_user(member)
            assert (await world.client.get(f"/api/v1/enterprises/{target}", headers=headers)).status_code == 200
            mine = (await world.client.get(f"{BASE}/my-tasks", headers=headers)).json()
            assert next(t for t in mine if t["id"] == task["id"])["enterprise_id"] == target
            # Other tasks of the same officer that are not yet released stay redacted.
            assert leaks(pulls + [json.dumps(mine).encode()], [
                trace for t in still_hidden if str(member) in t["team"]
                for trace in await target_traces(uuid.UUID(t["enterprise_id"]))
            ]) == []

    outsiders = {uuid.UUID(u) for t in still_hidden for u in t["team"]} - {uuid.UUID(u) for t in released_now for u in t["team"]}
    for member in outsiders:
        assert leaks(await raw_pulls(world, member), hidden_traces) == []

    assert await release(world, max(parse_instant(t["release_at"]) for t in tasks)) == len(still_hidden)
    statuses = [t["status"] for t in await world.tasks(campaign["id"])]
    assert statuses == ["released"] * 3
    audit = await AuditEntry.count().where(AuditEntry.action == "spot_check.release")
    assert audit == 3


# --- announced campaigns, progress and 一公开 ------------------------------------------------


async def test_announced_tasks_are_released_at_once_and_completed_checks_are_published(world: World) -> None:
    campaign = await world.campaign(covert=False, name="汛期前危化企业双随机抽查", rules={"sample_size": 2})
    await world.draw(campaign["id"])
    tasks = await world.tasks(campaign["id"])
    assert [t["status"] for t in tasks] == ["released", "released"]
    done, pending = tasks
    lead = uuid.UUID(done["team"][0])
    phone = await world.phone(lead)
    outcomes = await phone.push(
        [*answers(phone, uuid.UUID(done["inspection_id"]), await world.items()),
         SubmitInspection(seq=phone.seq(), inspection_id=uuid.UUID(done["inspection_id"]), summary="检查完毕",
                          signed_by_name="企业负责人", submitted_at=dt.datetime.now(dt.UTC))]
    )
    assert all(isinstance(o, sync_wire.Applied) for o in outcomes), outcomes

    progress = (await world.client.get(f"{BASE}/campaigns/{campaign['id']}/progress", headers=world.supervisor)).json()
    assert (progress["drawn"], progress["released"], progress["done"], progress["overdue"]) == (2, 2, 1, 0)
    actor = Actor(user_id=world.supervisor_id, role=Role.SUPERVISOR, department_id=world.department_id)
    late = dt.datetime.combine(dt.date.fromisoformat(campaign["period_end"]) + dt.timedelta(days=2), dt.time(12), tzinfo=dt.UTC)
    overdue = await spotcheck_tasks.progress(context_at(world.client, late), actor, uuid.UUID(campaign["id"]))
    assert overdue.overdue == 1 and overdue.done == 1

    results = await world.client.get(f"{BASE}/campaigns/{campaign['id']}/results", headers=world.supervisor)
    assert results.status_code == 200 and results.json() == []  # submitted, not reviewed: nothing is published yet
    review = await world.client.post(f"/api/v1/inspections/{done['inspection_id']}/review", json={"decision": "approve"},
                                     headers=world.supervisor)
    assert review.status_code == 200, review.text
    results = await world.client.get(f"{BASE}/campaigns/{campaign['id']}/results", headers=world.supervisor)
    rows = results.json()
    assert len(rows) == 1
    row = rows[0]
    assert row["campaign"] == "汛期前危化企业双随机抽查" and row["outcome"] == "未发现隐患"
    assert row["sector"] == "危险化学品" and row["district"] == "沙坡头区"
    assert row["inspection_date"] == dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).date().isoformat()

    exported = await world.client.get(f"{BASE}/campaigns/{campaign['id']}/results.csv", headers=world.supervisor)
    assert exported.status_code == 200 and exported.headers["content-type"] == "text/csv; charset=utf-8"
    table = list(csv.reader(io.StringIO(exported.text.lstrip("\ufeff"))))
    assert table[0][:3] == ["抽查计划", "企业名称", "统一社会信用代码"]
    assert table[1][1] == row["enterprise_name"] and len(table) == 2

    people = await User.select(User.id, User.username, User.display_name, User.badge_number).where(
        User.id.is_in([uuid.UUID(u) for t in tasks for u in t["team"]] + [world.supervisor_id])
    )
    personal = [v.encode() for p in people for v in (str(p["id"]), p["username"], p["display_name"], p["badge_number"] or "") if v]
    personal.append("企业负责人".encode())
    assert leaks([results.content, exported.content], personal) == []


async def test_a_returned_check_is_not_published_and_a_hazard_is_published_as_ordered(world: World) -> None:
    campaign = await world.campaign(covert=False, name="工贸企业双随机抽查", rules={"sample_size": 2})
    await world.draw(campaign["id"])
    clean, hazardous = await world.tasks(campaign["id"])
    [item] = await world.items()
    now = dt.datetime.now(dt.UTC)
    for task, outcome in ((clean, "pass"), (hazardous, "fail")):
        inspection = uuid.UUID(task["inspection_id"])
        phone = await world.phone(uuid.UUID(task["team"][0]))
        extra = [] if outcome == "pass" else [AddHazard(seq=phone.seq(), hazard=HazardCreate(
            id=uuid.uuid4(), inspection_id=inspection, level="general", description="消防通道堆放杂物",
            deadline_date=now.date() + dt.timedelta(days=7), checklist_item_id=item, found_at=now))]
        outcomes = await phone.push([*answers(phone, inspection, [item], outcome), *extra,
                                     SubmitInspection(seq=phone.seq(), inspection_id=inspection, submitted_at=now)])
        assert all(isinstance(o, sync_wire.Applied) for o in outcomes), outcomes

    async def review(task: dict, body: dict) -> None:
        response = await world.client.post(f"/api/v1/inspections/{task['inspection_id']}/review", json=body,
                                           headers=world.supervisor)
        assert response.status_code == 200, response.text

    async def published() -> dict[str, str]:
        rows = (await world.client.get(f"{BASE}/campaigns/{campaign['id']}/results", headers=world.supervisor)).json()
        return {r["credit_code"]: r["outcome"] for r in rows}

    await review(clean, {"decision": "return", "reason": "签名不清，请重签"})
    await review(hazardous, {"decision": "approve"})
    codes = {t["id"]: (await Enterprise.select(Enterprise.credit_code).where(
        Enterprise.id == uuid.UUID(t["enterprise_id"])).first())["credit_code"] for t in (clean, hazardous)}
    assert await published() == {codes[hazardous["id"]]: "发现一般隐患1项、重大隐患0项，已责令整改"}


# --- tampering -----------------------------------------------------------------------------


async def test_tampering_with_a_stored_draw_fails_verify_draw_and_names_the_change(world: World, settings, tmp_path) -> None:
    campaign = await world.campaign()
    draw = await world.draw(campaign["id"])
    env = _clean_env(DATABASE_URL=settings.database.url, FIELDCHECK_DATA_DIR=str(tmp_path))
    clean = await asyncio.to_thread(_run, "verify-draw", draw["id"], env=env)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert clean.stdout.strip().splitlines()[-1].startswith("OK")

    tasks = await world.tasks(campaign["id"])
    outsider = next(str(e) for e in world.enterprises if str(e) not in {t["enterprise_id"] for t in tasks})
    engine = database.get_engine()
    await engine.run_ddl(
        "UPDATE spot_check_draw SET result = jsonb_set(result::jsonb, '{tasks,0,enterprise_id}', "
        f"'\"{outsider}\"')::json WHERE id = '{draw['id']}'"
    )
    report = (await world.client.get(f"{BASE}/draws/{draw['id']}/verify", headers=world.supervisor)).json()
    assert report["ok"] is False
    assert {"path": "result.tasks[0].enterprise_id", "stored": outsider, "recomputed": tasks[0]["enterprise_id"]} in report["differences"]
    assert next(c for c in report["checks"] if c["name"] == "result_hash")["ok"] is False

    cli = await asyncio.to_thread(_run, "verify-draw", draw["id"], env=env)
    assert cli.returncode == 1, cli.stdout + cli.stderr
    assert "DIFF result.tasks[0].enterprise_id" in cli.stdout and outsider in cli.stdout
    assert "FAIL result_hash" in cli.stdout and "MISMATCH" in cli.stdout

    # The task rows phones are served from are compared too: a swapped officer is named.
    stranger = str(await make_user(Role.INSPECTOR))
    await engine.run_ddl(
        f"UPDATE spot_check_task SET team = '[\"{stranger}\", \"{tasks[1]['team'][1]}\"]' "
        f"WHERE draw = '{draw['id']}' AND position = 1"
    )
    cli = await asyncio.to_thread(_run, "verify-draw", "--json", draw["id"], env=env)
    assert cli.returncode == 1
    paths = {d["path"]: d for d in json.loads(cli.stdout)["differences"]}
    assert paths["task_rows[1].team[0]"]["stored"] == stranger
    assert paths["task_rows[1].team[0]"]["recomputed"] == tasks[1]["team"][0]


async def test_a_stored_seed_that_does_not_match_its_commitment_is_named(world: World) -> None:
    campaign = await world.campaign()
    draw = await world.draw(campaign["id"])
    await database.get_engine().run_ddl(
        f"UPDATE spot_check_draw SET seed_hex = '{'ab' * 32}' WHERE id = '{draw['id']}'"
    )
    report = (await world.client.get(f"{BASE}/draws/{draw['id']}/verify", headers=world.supervisor)).json()
    assert report["ok"] is False
    assert next(c for c in report["checks"] if c["name"] == "seed_hash")["ok"] is False
    assert any(d["path"].startswith("result.") for d in report["differences"])


async def test_inspectors_and_leaders_cannot_run_or_read_draws(world: World) -> None:
    campaign = await world.campaign()
    inspector = await world.as_user(world.inspectors[0])
    leader = await login(world.client, await username_of(await make_user(Role.LEADER)))
    for headers in (inspector, leader):
        response = await world.client.post(f"{BASE}/campaigns/{campaign['id']}/draws", json={}, headers=headers)
        assert response.status_code == 403
    assert (await world.client.get(f"{BASE}/campaigns", headers=inspector)).status_code == 403
    assert (await world.client.get(f"{BASE}/my-tasks", headers=world.supervisor)).status_code == 403


async def test_two_release_jobs_at_once_release_each_task_once(world: World) -> None:
    campaign = await world.campaign(rules={"sample_size": 4})
    await world.draw(campaign["id"])
    tasks = await world.tasks(campaign["id"])
    late = max(parse_instant(t["release_at"]) for t in tasks)
    counts = await asyncio.gather(*(spotcheck_release.release_due_tasks(context_at(world.client, late)) for _ in range(3)))
    assert sum(counts) == 4
    made = await Inspection.select(Inspection.spot_check_task_id).where(Inspection.spot_check_task_id.is_not_null())
    assert sorted(str(r["spot_check_task_id"]) for r in made) == sorted(t["id"] for t in tasks)


async def test_anyone_allowed_can_rerun_a_draw_from_its_published_inputs(world: World) -> None:
    from server.spotchecks import policy

    campaign = await world.campaign()
    draw = await world.draw(campaign["id"])
    leader = await world.as_user(await make_user(Role.LEADER))
    assert (await world.client.get(f"{BASE}/draws/{draw['id']}/inputs", headers=leader)).status_code == 403

    inputs = (await world.client.get(f"{BASE}/draws/{draw['id']}/inputs", headers=world.supervisor)).json()
    snapshot = msgspec.convert(inputs["pool_snapshot"], policy.PoolSnapshot)
    rerun = policy.draw(snapshot, bytes.fromhex(inputs["seed_hex"]))
    assert msgspec.json.decode(policy.canonical(rerun)) == inputs["result"]
    assert policy.result_hash(rerun) == inputs["result_hash"] == draw["result_hash"]

    await release(world, max(parse_instant(t["release_at"]) for t in await world.tasks(campaign["id"])))
    after = await world.client.get(f"{BASE}/draws/{draw['id']}/inputs", headers=leader)
    assert after.status_code == 200 and after.json()["pool_hash"] == draw["pool_hash"]
    assert (await world.client.get(f"{BASE}/draws/{draw['id']}/verify", headers=leader)).json()["ok"] is True


async def test_one_task_that_cannot_be_released_does_not_hold_back_the_others(world: World) -> None:
    campaign = await world.campaign(rules={"sample_size": 3})
    await world.draw(campaign["id"])
    tasks = sorted(await world.tasks(campaign["id"]), key=lambda t: t["release_at"])
    bad = tasks[0]
    # The database refuses this one task's inspection, as a broken row or a constraint would.
    engine = database.get_engine()
    await engine.run_ddl(
        "CREATE FUNCTION refuse_one_release() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"IF NEW.spot_check_task_id = '{bad['id']}' THEN RAISE EXCEPTION 'refused for the test'; END IF; "
        "RETURN NEW; END $$"
    )
    await engine.run_ddl(
        "CREATE TRIGGER refuse_one_release BEFORE INSERT ON inspection FOR EACH ROW EXECUTE FUNCTION refuse_one_release()"
    )
    try:
        late = max(parse_instant(t["release_at"]) for t in tasks)
        assert await release(world, late) == 2
        after = {t["id"]: t for t in await world.tasks(campaign["id"])}
        assert after[bad["id"]]["status"] == "drawn"
        assert all(after[t["id"]]["status"] == "released" for t in tasks[1:])
    finally:
        await engine.run_ddl("DROP TRIGGER refuse_one_release ON inspection")
        await engine.run_ddl("DROP FUNCTION refuse_one_release()")
    # Once the cause is gone the next run releases it.
    assert await release(world, late) == 1
    assert {t["status"] for t in await world.tasks(campaign["id"])} == {"released"}
