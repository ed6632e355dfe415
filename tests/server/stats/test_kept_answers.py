"""Counts kept between recounts (``server.stats.cache``): the actor's own scope, no covert target, honest 数据截至."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
import pytest

from schemas.vocab import Role
from server.spotchecks import release as spotcheck_release
from server.stats import cache, collection, views
from server.stats import query as stats_query
from server.stats import rollup as stats_rollup
from server.stats.definitions import Dim
from tests.conftest import login, make_user, username_of
from tests.dates import bureau_today
from tests.server.stats.conftest import BJ, City, comparable
from tests.server.stats.test_covert_tasks import covert_draw


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[tuple[bool, list[str]]]:
    """Every count a read makes from the rollups (not from the kept entries): (only these months?, the months)."""
    cache.clear()  # what an earlier test's database left is recounted in full, which this test would count
    calls: list[tuple[bool, list[str]]] = []
    month_sums = collection._month_sums

    async def spy(conn: Any, query: Any, plan: Any, today: dt.date, months: list[str], *, restrict: bool) -> Any:
        calls.append((restrict, list(months)))
        return await month_sums(conn, query, plan, today, months, restrict=restrict)

    monkeypatch.setattr(collection, "_month_sums", spy)
    return calls


def _figure(view: Any, key: str) -> float | None:
    return next(f.value for f in view.figures if f.key == key)


def _same(a: Any, b: Any) -> bool:
    """Two answers with the same figures and rows (their moments aside)."""
    return comparable(msgspec.to_builtins(a)) == comparable(msgspec.to_builtins(b))


async def test_a_kept_answer_is_the_actors_own_scope_and_never_shows_a_covert_target(city: City, counted: list) -> None:
    owner_id = await make_user(Role.SUPERVISOR, department_id=city.departments["D1"])
    owner = await login(city.client, await username_of(owner_id))
    period = str((bureau_today() + dt.timedelta(days=1)).year)
    query = stats_query.query_from(period)
    actors = {who: await city.actor(who) for who in ("L", "ADMIN", "S1", "S2")}

    tasks = await covert_draw(city, owner)  # D1's covert campaign: E1, the target, still secret
    await stats_rollup.refresh()
    for _ in range(2):  # the second round answers from the kept counts
        for who, actor in actors.items():
            fast = await views.dashboard(actor, query)
            assert _figure(fast.summary, "spot_tasks_covert") == 0, who
            assert _same(fast, await views.dashboard(actor, query, backend="base")), who
    assert len(counted) == 3 * 6, "each scope counted once (leaders and admins share the city's), then kept"
    assert not any(only for only, _ in counted)

    # Released: from the next recount it counts for its department and the city, never for D2.
    release_at = dt.datetime.fromisoformat(tasks[0]["release_at"].replace("Z", "+00:00"))
    assert await spotcheck_release.release_due_tasks(city.at_time(release_at)) == 1
    await stats_rollup.refresh()
    for _ in range(2):
        for who in ("L", "S2", "S1", "ADMIN"):
            fast = await views.dashboard(actors[who], query)
            assert _figure(fast.summary, "spot_tasks_covert") == (0 if who == "S2" else 1), who
            assert _same(fast, await views.dashboard(actors[who], query, backend="base")), who
            summary = await views.summary(actors[who], query)
            assert _figure(summary, "spot_tasks") == (0 if who == "S2" else 1), who
    by_department = await views.breakdown(actors["S2"], query, Dim.DEPARTMENT)
    assert [row.label for row in by_department.rows] == ["危险化学品安全监督管理科"]


async def test_a_read_between_recounts_is_answered_from_memory_and_says_how_fresh_it_is(city: City, counted: list) -> None:
    leader = await city.actor("L")
    query = stats_query.query_from(str(bureau_today().year))
    first = await views.dashboard(leader, query)
    made = len(counted)
    again = await views.dashboard(leader, query)
    assert len(counted) == made and _same(first, again)  # nothing recounted, nothing counted again
    assert again.freshness.pending is False

    # A phone's check, not yet counted: the kept answer still serves, and says it is only as fresh as that write.
    before = dt.datetime.now(dt.UTC)
    await city.add_inspection("Inew", "E2", "routine", "D1", dt.datetime.now(BJ), ["A", "B"])
    waiting = await views.dashboard(leader, query)
    assert len(counted) == made and _same(first, waiting)
    assert waiting.freshness.pending is True
    assert dt.datetime.fromisoformat(waiting.freshness.as_of) <= dt.datetime.now(dt.UTC)
    assert dt.datetime.fromisoformat(waiting.freshness.as_of) >= before - dt.timedelta(seconds=1)

    # The refresher's round: the month it recounted is counted again (and only it), and the check is in.
    await stats_rollup.refresh()
    counted_now = await views.dashboard(leader, query)
    this_month = bureau_today().replace(day=1).isoformat()
    assert len(counted) == made + 6 and all(only and this_month in months for only, months in counted[made:])
    assert _figure(counted_now.summary, "checks") == _figure(first.summary, "checks") + 1
    assert _same(counted_now, await views.dashboard(leader, query, backend="base"))
    assert counted_now.freshness.pending is False
