"""The draw, covert release and verification on the embedded SQLite default."""

from __future__ import annotations

import datetime as dt
import uuid

import httpx

from server import database
from server.spotchecks import release as spotcheck_release
from tests.conftest import context_at
from tests.server.registry.conftest import sqlite_client  # noqa: F401  (fixture)
from tests.server.spotchecks.conftest import BASE, make_world, target_traces


async def test_draw_release_and_verify_on_sqlite(sqlite_client: httpx.AsyncClient) -> None:  # noqa: F811
    world = await make_world(sqlite_client)
    campaign = await world.campaign(rules={"sample_size": 2, "stratify_by": "district"})
    draw = await world.draw(campaign["id"])
    assert draw["task_count"] == 2
    tasks = await world.tasks(campaign["id"])
    member = uuid.UUID(tasks[0]["team"][0])
    headers = await world.as_user(member)
    before = await sqlite_client.get(f"{BASE}/my-tasks", headers=headers)
    traces = [t for task in tasks for t in await target_traces(uuid.UUID(task["enterprise_id"]))]
    assert before.status_code == 200 and not [t for t in traces if t in before.content]

    last = max(dt.datetime.fromisoformat(t["release_at"].replace("Z", "+00:00")) for t in tasks)
    assert await spotcheck_release.release_due_tasks(context_at(sqlite_client, last)) == 2
    after = (await sqlite_client.get(f"{BASE}/my-tasks", headers=headers)).json()
    assert {t["enterprise_id"] for t in after if t["released"]} >= {tasks[0]["enterprise_id"]}
    inspections = (await sqlite_client.get("/api/v1/inspections/", headers=headers)).json()
    assert tasks[0]["enterprise_id"] in {i["enterprise_id"] for i in inspections}

    report = (await sqlite_client.get(f"{BASE}/draws/{draw['id']}/verify", headers=world.supervisor)).json()
    assert report["ok"], report
