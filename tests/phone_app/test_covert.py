"""A covert task reaches the phone only at its release (issue 12, must-show 5).

Before release the team's phone holds the task as a day and a district; no pull page it received, no
record in its IndexedDB and no file its service worker cached carries the target (id in both spellings,
name, credit code, address, coordinates). After the release job runs, the next sync brings the check with
the enterprise's name and address, and the task list shows it.
"""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from server.spotchecks import release as spotcheck_release
from tests.conftest import context_at, username_of
from tests.phone_app.conftest import Phone
from tests.server.spotchecks.conftest import make_world, target_traces

pytestmark = pytest.mark.browser

#: Everything this phone keeps: its IndexedDB tables and every response its service worker cached.
_HELD = """(async () => {
  const out = [];
  for (const table of FC.store.db.tables) out.push(JSON.stringify(await table.toArray()));
  for (const name of await caches.keys()) {
    const cache = await caches.open(name);
    for (const request of await cache.keys()) out.push(request.url, await (await cache.match(request)).text());
  }
  return out.join("\\n");
})()"""


async def test_a_covert_task_appears_only_after_release(client, served, phone):
    world = await make_world(client)
    campaign = await world.campaign(rules={"sample_size": 1, "team_size": 2})
    await world.draw(campaign["id"])
    [task] = await world.tasks(campaign["id"])
    member = task["team"][0]
    traces = await target_traces(uuid.UUID(task["enterprise_id"]))

    page = await phone.new_page()
    p = Phone(page, served, "covert")
    pulled: list[bytes] = []

    async def keep(response):
        if response.url.endswith("/api/v1/sync/pull"):
            pulled.append(await response.body())

    page.on("response", keep)
    await p.open()
    await p.login(await username_of(member))
    await p.sync()
    await page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    await page.wait_for_function("caches.keys().then(k => k.some(n => n.startsWith('fieldcheck-shell-')))")
    await page.wait_for_selector(".van-empty")
    await p.shot("covert-before-release")
    assert pulled, "the phone pulled nothing"
    held = (await page.evaluate(_HELD)).encode()
    assert "spot_check_task" in held.decode()  # the team is told of a task on a day in a district…
    for trace in traces:
        assert not any(trace in body for body in pulled), trace  # …and no pull page names the target
        assert trace not in held, trace  # nor anything the phone stores or cached
    assert await page.locator("[data-inspection]").count() == 0

    due = dt.datetime.fromisoformat(task["release_at"].replace("Z", "+00:00"))
    assert await spotcheck_release.release_due_tasks(context_at(client, due)) == 1
    await p.sync()
    await page.wait_for_selector("[data-inspection]")
    card = await page.inner_text("[data-inspection]")
    assert task["enterprise_name"] in card and "暗访检查" in card
    await p.shot("covert-released")
    assert any(traces[0] in body for body in pulled[-3:])
    assert p.errors == []
