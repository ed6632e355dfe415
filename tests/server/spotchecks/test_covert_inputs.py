"""Another campaign's unreleased covert tasks are not in a draw's published inputs; the draw still verifies."""

from __future__ import annotations

import datetime as dt
from typing import Any

from schemas.vocab import Role
from server.spotchecks import release as spotcheck_release
from tests.conftest import context_at, login, make_user, username_of
from tests.server.spotchecks.conftest import BASE, World


def pool_of(inputs: dict[str, Any]) -> dict[str, Any]:
    """A draw's published pool without what differs between two attempts of one campaign."""
    snapshot = dict(inputs["pool_snapshot"])
    snapshot["rules"] = {k: v for k, v in snapshot["rules"].items() if k != "attempt"}
    return snapshot


async def other_supervisors_draw(world: World, headers: dict[str, str], campaign_id: str, reason: str = "") -> dict[str, Any]:
    """Draw (or redraw) the other supervisor's campaign and read the draw's published inputs."""
    draw = await world.client.post(f"{BASE}/campaigns/{campaign_id}/draws", json={"reason": reason}, headers=headers)
    assert draw.status_code == 201, draw.text
    inputs = await world.client.get(f"{BASE}/draws/{draw.json()['id']}/inputs", headers=headers)
    assert inputs.status_code == 200, inputs.text
    verified = await world.client.get(f"{BASE}/draws/{draw.json()['id']}/verify", headers=headers)
    assert verified.status_code == 200 and verified.json()["ok"] is True, verified.text
    return inputs.json()


async def test_a_draw_reads_no_unreleased_covert_task_of_another_campaign(world: World) -> None:
    other = await login(world.client, await username_of(await make_user(Role.SUPERVISOR, department_id=world.department_id)))
    mine = await world.campaign(name="另一负责人的暗访抽查", rules={"sample_size": 2})
    # Through the other supervisor's own API: a campaign of theirs, drawn before the covert one exists.
    body = {**{k: mine[k] for k in ("period_start", "period_end", "covert", "enforcement")}, "name": "同科室另一暗访抽查",
            "rules": {"sample_size": 2, "team_size": 2, "weekdays": [1, 2, 3, 4, 5, 6, 7]}}
    theirs = await world.client.post(f"{BASE}/campaigns", json=body, headers=other)
    assert theirs.status_code == 201, theirs.text
    before = await other_supervisors_draw(world, other, theirs.json()["id"])

    await world.draw(mine["id"])
    tasks = await world.tasks(mine["id"])
    targets = {t["enterprise_id"] for t in tasks}
    assert targets and all(t["status"] == "drawn" for t in tasks)

    during = await other_supervisors_draw(world, other, theirs.json()["id"], reason="首次抽取后调整检查组")
    assert pool_of(during) == pool_of(before)  # no count moved, no pair was added
    pairs = {tuple(p) for p in during["pool_snapshot"]["past_pairs"]}
    assert not any(p[0] in targets for p in pairs)

    # Once released, the covert checks are history like any other: they count for later draws.
    due = max(dt.datetime.fromisoformat(t["release_at"].replace("Z", "+00:00")) for t in tasks)
    await spotcheck_release.release_due_tasks(context_at(world.client, due))
    later = await world.client.post(f"{BASE}/campaigns", json={**body, "name": "发布后的另一暗访抽查"}, headers=other)
    after = await other_supervisors_draw(world, other, later.json()["id"])
    pairs = {tuple(p) for p in after["pool_snapshot"]["past_pairs"]}
    assert {(t["enterprise_id"], *sorted(t["team"])) for t in tasks} <= pairs
    counts = {e["id"]: e["inspections_this_year"] for e in after["pool_snapshot"]["enterprises"]}
    for task in tasks:
        if dt.date.fromisoformat(task["planned_date"]).year == dt.date.fromisoformat(after["pool_snapshot"]["rules"]["as_of_date"]).year:
            assert counts[task["enterprise_id"]] >= 1
