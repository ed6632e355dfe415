"""The network drops after the server processed a push and a photo chunk (issue 12, must-show 3).

Playwright's route interception lets the request reach the server, takes its answer, then breaks the
connection instead of delivering it: the server has applied the push (or stored the chunk), the phone never
heard. After recovery nothing is duplicated (device outcomes one per seq, one row per record) and nothing is
lost; the large photo resumes from the chunk the server lacks instead of starting over.
"""

from __future__ import annotations

import hashlib

import pytest

from server.evidence.tables import Evidence
from tests.phone_app import helpers
from tests.phone_app.conftest import Phone, World

pytestmark = pytest.mark.browser


async def test_answers_lost_after_the_server_processed_them(world: World, phone, tmp_path):
    from tests.server.evidence.images import big_jpeg, photo

    small, large = tmp_path / "small.jpg", tmp_path / "large.jpg"
    small.write_bytes(photo(seed=21))
    large.write_bytes(big_jpeg(7 * 1024 * 1024, seed=3))  # two chunks of the server's 5 MiB
    page = await phone.new_page()
    p = Phone(page, world.url, "drops")
    await p.open()
    await p.login(world.inspector)
    await page.wait_for_selector(f"[data-inspection='{world.inspection_id}']")

    await phone.set_offline(True)
    await page.click(f"[data-inspection='{world.inspection_id}']")
    await page.wait_for_selector(".item")
    await helpers.answer_items(p, world, fail_code=world.items[0]["code"])
    await page.set_input_files("[data-testid=photo-input]", [str(small), str(large)])
    await page.wait_for_function("FC.app.data.uploads.length === 2")
    queued = (await p.counts())["pending"]
    device_id = await page.evaluate("FC.store.deviceId()")

    seen: dict[str, int] = {}
    dropped: list[str] = []

    async def lose_answer(route):
        """Forward to the server, then break the connection in place of its answer (first time per kind)."""
        url = route.request.url
        kind = "push" if url.endswith("/sync/push") else "part2" if url.endswith("/parts/2") else "other"
        seen[kind] = seen.get(kind, 0) + 1
        answer = await route.fetch()
        if kind in ("push", "part2") and kind not in dropped:
            dropped.append(kind)
            assert answer.status == 200, await answer.text()
            await route.abort("connectionreset")
            return
        await route.fulfill(response=answer)

    part_puts: list[str] = []
    page.on("request", lambda r: part_puts.append(r.url) if "/parts/" in r.url or "/blobs/" in r.url else None)
    await page.route("**/api/v1/sync/push", lose_answer)
    await page.route("**/api/v1/evidence/uploads/*/parts/*", lose_answer)
    await phone.set_offline(False)
    await helpers.sync_until_safe(p)
    assert dropped == ["push", "part2"] and seen["push"] >= 2

    # Exactly once: one stored outcome per seq, one row per record, both photos stored with their hashes.
    mutations = await helpers.device_mutations(device_id)
    assert len(mutations) == queued == len({m["seq"] for m in mutations})
    rows = await helpers.server_rows(world.inspection_id)
    assert len(rows["results"]) == 20
    evidence = await Evidence.select().where(Evidence.inspection == world.inspection_id)
    assert {e["sha256"] for e in evidence} == {hashlib.sha256(f.read_bytes()).hexdigest() for f in (small, large)}
    assert {e["status"] for e in evidence} == {"stored"}
    for row in evidence:
        assert await helpers.downloaded_sha256(world.url, world.supervisor, row["id"]) == row["sha256"]
    # The large photo's first chunk went once: its retry asked the session and sent only what was missing.
    assert sum(1 for u in part_puts if u.endswith("/parts/1")) == 1, part_puts
    await page.goto(f"{world.url}/app/#/sync")
    await page.wait_for_selector("[data-testid=sync-state].safe")
    await p.shot("recovered")
    assert p.errors == []
