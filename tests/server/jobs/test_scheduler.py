"""Scheduled jobs: two server processes on one PostgreSQL run each job once per tick, a bad item never
blocks the others, and administrators (only) see the runs and can start one."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import os
import sys
import textwrap
from collections import Counter

import httpx

from schemas.vocab import Role
from server import database
from server.app import create_app
from server.audit.tables import AuditEntry
from server.inspections.tables import Inspection
from server.jobs.catalogue import JOBS
from server.jobs.tables import JobRun
from server.settings import JobSettings, Settings
from tests.conftest import login, make_user, username_of
from tests.server.spotchecks.conftest import World, world  # noqa: F401  (fixture)

FAST = JobSettings(**{f.name: 1 for f in dataclasses.fields(JobSettings) if f.name.endswith("_s")})
ALL_JOBS = {job.name for job in JOBS}
SECONDS = 5

_SERVER_PROCESS = textwrap.dedent(
    """
    import asyncio, dataclasses, sys
    from pathlib import Path
    from server import database
    from server.app import create_app
    from server.settings import JobSettings
    from tests.conftest import make_settings

    async def main():
        settings = make_settings(Path(sys.argv[2]), database_url=sys.argv[1])
        fast = {f.name: 1 for f in dataclasses.fields(JobSettings) if f.name.endswith("_s")}
        settings = dataclasses.replace(settings, jobs=JobSettings(**fast))
        app = create_app(settings)
        await database.start(settings)
        for hook in app.on_startup:
            await hook()
        await asyncio.sleep(float(sys.argv[3]))
        for hook in app.on_shutdown:
            await hook()
        await database.stop()

    asyncio.run(main())
    """
)


def _release_now_campaign() -> dict:
    today = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).date().isoformat()
    return {"period_start": today, "period_end": today, "rules": {"sample_size": 3, "release_time": "00:00"}}


async def _refuse_inspection_for(task_id: str) -> None:
    """The database refuses this one task's inspection, as a broken row or a constraint would."""
    engine = database.get_engine()
    await engine.run_ddl(
        "CREATE FUNCTION refuse_one_release() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"IF NEW.spot_check_task_id = '{task_id}' THEN RAISE EXCEPTION 'refused for the test'; END IF; "
        "RETURN NEW; END $$"
    )
    await engine.run_ddl(
        "CREATE TRIGGER refuse_one_release BEFORE INSERT ON inspection FOR EACH ROW EXECUTE FUNCTION refuse_one_release()"
    )


async def _allow_again() -> None:
    engine = database.get_engine()
    await engine.run_ddl("DROP TRIGGER IF EXISTS refuse_one_release ON inspection")
    await engine.run_ddl("DROP FUNCTION IF EXISTS refuse_one_release()")


async def test_two_server_processes_run_each_job_once_per_tick_and_a_bad_task_blocks_no_other(
    world: World, settings: Settings, tmp_path  # noqa: F811
) -> None:
    campaign = await world.campaign(**_release_now_campaign())
    await world.draw(campaign["id"])
    tasks = sorted(await world.tasks(campaign["id"]), key=lambda t: t["release_at"])
    bad = tasks[0]
    await _refuse_inspection_for(bad["id"])
    try:
        env = {**os.environ, "PYTHONPATH": os.getcwd()}
        procs = [
            await asyncio.create_subprocess_exec(
                sys.executable, "-c", _SERVER_PROCESS, settings.database.url, str(tmp_path / f"p{n}"), str(SECONDS),
                env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            )
            for n in range(2)
        ]
        for proc in procs:
            _, err = await asyncio.wait_for(proc.communicate(), timeout=120)
            assert proc.returncode == 0, err.decode(errors="replace")[-3000:]
    finally:
        await _allow_again()

    runs = await JobRun.select().where(JobRun.manual == "")
    by_job = Counter(r["job"] for r in runs)
    assert set(by_job) == ALL_JOBS, by_job
    # Each (job, tick) ran once though both processes fired it; the ticks are consecutive seconds.
    per_tick = Counter((r["job"], r["tick"]) for r in runs)
    assert max(per_tick.values()) == 1
    for job in by_job:
        ticks = sorted(r["tick"] for r in runs if r["job"] == job)
        assert len(ticks) >= SECONDS - 2, (job, ticks)
        gaps = {(b - a).total_seconds() for a, b in zip(ticks, ticks[1:], strict=False)}
        assert gaps <= {1.0, 2.0}, (job, gaps)  # at most one tick lost to a process start-up
    assert len({r["host"] for r in runs}) == 2, "both processes should have won some ticks"
    assert all(r["outcome"] in ("ok", "partial") for r in runs), [
        (r["job"], r["outcome"], r["message"]) for r in runs if r["outcome"] not in ("ok", "partial")
    ]

    # The refused task stayed drawn and each run said so; the other two were released once each.
    after = {t["id"]: t for t in await world.tasks(campaign["id"])}
    assert after[bad["id"]]["status"] == "drawn"
    assert all(after[t["id"]]["status"] == "released" for t in tasks[1:])
    made = Counter(str(r["spot_check_task_id"]) for r in await Inspection.select(Inspection.spot_check_task_id)
                   .where(Inspection.spot_check_task_id.is_not_null()))
    assert made == Counter({t["id"]: 1 for t in tasks[1:]})
    # Only the process that claimed a tick ran it: every audited run is a recorded one.
    audited_runs = {e["entity_id"] for e in await AuditEntry.select(AuditEntry.entity_id).where(AuditEntry.action == "job.run")}
    assert audited_runs and audited_runs <= {str(r["id"]) for r in runs}
    releases = [r for r in runs if r["job"] == "covert-release"]
    assert {r["outcome"] for r in releases} == {"partial"}, [(r["tick"], r["outcome"], r["message"]) for r in releases]
    assert sum(r["items"] for r in releases) == 2

    # Once the cause is gone an administrator runs the job and the last task goes out.
    admin = await login(world.client, await username_of(await make_user(Role.ADMIN)))
    response = await world.client.post("/api/v1/jobs/covert-release/run", headers=admin)
    assert response.status_code == 200, response.text
    assert response.json()["outcome"] == "ok" and response.json()["items"] == 1
    assert {t["status"] for t in await world.tasks(campaign["id"])} == {"released"}
    audited = await AuditEntry.select(AuditEntry.changes).where(AuditEntry.action == "job.run").output(load_json=True)
    assert any(e["changes"].get("job") == "covert-release" and e["changes"].get("items") == 1 for e in audited)


async def test_the_server_releases_due_tasks_by_itself(world: World, app, settings: Settings) -> None:  # noqa: F811
    campaign = await world.campaign(**_release_now_campaign())
    await world.draw(campaign["id"])
    assert {t["status"] for t in await world.tasks(campaign["id"])} == {"drawn"}

    server = create_app(dataclasses.replace(settings, jobs=FAST))
    try:
        for hook in server.on_startup:
            await hook()
        for _ in range(50):
            await asyncio.sleep(0.1)
            if {t["status"] for t in await world.tasks(campaign["id"])} == {"released"}:
                break
        assert {t["status"] for t in await world.tasks(campaign["id"])} == {"released"}
    finally:
        for hook in server.on_shutdown:
            await hook()


async def test_jobs_off_means_no_scheduler(app, settings: Settings) -> None:
    server = create_app(dataclasses.replace(settings, jobs=JobSettings(enabled=False)))
    try:
        for hook in server.on_startup:
            await hook()
        assert getattr(server.state, "scheduler", None) is None
    finally:
        for hook in server.on_shutdown:
            await hook()


async def test_only_administrators_see_and_run_jobs(client: httpx.AsyncClient) -> None:
    admin = await login(client, await username_of(await make_user(Role.ADMIN)))
    listed = await client.get("/api/v1/jobs", headers=admin)
    assert listed.status_code == 200
    assert {j["name"] for j in listed.json()} == ALL_JOBS
    ran = await client.post("/api/v1/jobs/escalate-overdue/run", headers=admin)
    assert ran.status_code == 200 and ran.json()["outcome"] == "ok" and ran.json()["requested_by"]
    runs = await client.get("/api/v1/jobs/runs", params={"job": "escalate-overdue"}, headers=admin)
    assert [r["id"] for r in runs.json()] == [ran.json()["id"]]
    assert (await client.get("/api/v1/jobs/runs", params={"limit": 0}, headers=admin)).status_code == 400
    assert (await client.get("/api/v1/jobs/runs", params={"job": "nope"}, headers=admin)).status_code == 404
    assert (await client.post("/api/v1/jobs/nope/run", headers=admin)).status_code == 404
    for role in (Role.SUPERVISOR, Role.LEADER, Role.INSPECTOR):
        other = await login(client, await username_of(await make_user(role)))
        assert (await client.get("/api/v1/jobs", headers=other)).status_code == 403
        assert (await client.post("/api/v1/jobs/covert-release/run", headers=other)).status_code == 403
    assert (await client.get("/api/v1/jobs")).status_code == 401
