"""An unreleased covert spot-check task is in no statistic, drill-down or export; from its release it is."""

from __future__ import annotations

import datetime as dt
import uuid

from schemas.vocab import Role
from server.spotchecks import release as spotcheck_release
from tests.conftest import login, make_user, username_of
from tests.server.stats.conftest import City, every_statistic
from tests.dates import bureau_today

SPOT = "/api/v1/spot-checks"


async def covert_draw(city: City, owner: dict[str, str]) -> list[dict]:
    """A covert campaign of department D1 drawn through the API: one target (E1, the only 危化 enterprise), team C."""
    start = bureau_today() + dt.timedelta(days=1)
    end = min(start + dt.timedelta(days=20), dt.date(start.year, 12, 31))
    body = {
        "name": "年末危化企业暗访抽查", "period_start": start.isoformat(), "period_end": end.isoformat(), "covert": True,
        "enforcement": False,
        "rules": {
            # A team of one from D2, whose only inspector is C: the draw is determined.
            "filters": {"sectors": ["hazardous_chemicals"]}, "sample_size": 1, "team_size": 1,
            "inspector_department_ids": [str(city.departments["D2"])], "weekdays": [1, 2, 3, 4, 5, 6, 7],
        },
    }
    campaign = await city.client.post(f"{SPOT}/campaigns", json=body, headers=owner)
    assert campaign.status_code == 201, campaign.text
    draw = await city.client.post(f"{SPOT}/campaigns/{campaign.json()['id']}/draws", json={"reason": ""}, headers=owner)
    assert draw.status_code == 201, draw.text
    assert draw.json().get("task_count") == 1, draw.text
    tasks = await city.client.get(f"{SPOT}/campaigns/{campaign.json()['id']}/tasks", headers=owner)
    return tasks.json()


def _figure(summary: dict, key: str) -> float | None:
    return next(f.get("value") for f in summary["figures"] if f["key"] == key)


async def test_an_unreleased_covert_task_counts_nowhere_and_counts_from_its_release(city: City) -> None:
    owner_id = await make_user(Role.SUPERVISOR, department_id=city.departments["D1"])
    city.users["S2"] = await make_user(Role.SUPERVISOR, department_id=city.departments["D2"])
    owner = await login(city.client, await username_of(owner_id))
    readers = {"S1": await city.headers("S1"), "S2": await city.headers("S2"), "L": await city.headers("L"),
               "ADMIN": await city.headers("ADMIN"), "owner": owner}
    period = str((bureau_today() + dt.timedelta(days=1)).year)
    before = {who: await every_statistic(city.client, headers, period) for who, headers in readers.items()}

    tasks = await covert_draw(city, owner)
    assert [uuid.UUID(t["enterprise_id"]) for t in tasks] == [city.enterprises["E1"]]
    for who, headers in readers.items():
        after = await every_statistic(city.client, headers, period)
        changed = sorted(k for k in after if after[k] != before[who][k])
        assert changed == [], (who, changed)  # not one figure, row or export cell moved

    # Released through the release job: from now on it counts, and the drill-down lists it.
    release_at = dt.datetime.fromisoformat(tasks[0]["release_at"].replace("Z", "+00:00"))
    assert await spotcheck_release.release_due_tasks(city.at_time(release_at)) == 1
    for who in ("L", "ADMIN", "S1"):
        summary = (await city.get(who, "summary", period=period)).json()
        assert _figure(summary, "spot_tasks") == 1 and _figure(summary, "spot_tasks_covert") == 1, who
        drill = (await city.get(who, "drilldown", period=period, indicator="spot_tasks_covert")).json()
        assert drill["total"] == 1 and "中卫市美利化工有限公司" in drill["rows"][0], who
    other_department = (await city.get("S2", "summary", period=period)).json()
    assert _figure(other_department, "spot_tasks") == 0
