"""Template versioning on the embedded SQLite default (UPDATE … RETURNING and BEGIN IMMEDIATE instead of row locks)."""

import asyncio

from schemas.vocab import Role
from server.checklists.tables import ChecklistTemplate
from tests.conftest import login, make_user, username_of

ITEMS = [{"code": "A-1", "category": "管理类", "text": "特种作业人员持证上岗", "is_major_criterion": True}]


async def test_versions_on_sqlite(sqlite_client):
    client = sqlite_client
    admin = await login(client, await username_of(await make_user(Role.ADMIN)))
    body = {"code": "fm-2022", "sector": "non_coal_mining", "title": "非煤矿山检查表", "items": ITEMS}
    v1 = (await client.post("/api/v1/checklists/", json=body, headers=admin)).json()
    responses = await asyncio.gather(
        *(
            client.post("/api/v1/checklists/by-code/fm-2022/versions", json={"title": f"修订{i}", "items": ITEMS, "expected_version": 1}, headers=admin)
            for i in range(3)
        )
    )
    # Every reviser read version 1: exactly one wins, the others are told to refresh.
    assert sorted(r.status_code for r in responses) == [201, 409, 409]
    rows = await ChecklistTemplate.select(ChecklistTemplate.version, ChecklistTemplate.is_current).order_by(ChecklistTemplate.version)
    assert [(r["version"], bool(r["is_current"])) for r in rows] == [(1, False), (2, True)]
    old = (await client.get(f"/api/v1/checklists/{v1['id']}", headers=admin)).json()
    assert old["version"] == 1 and old["is_current"] is False and old["items"][0]["is_major_criterion"] is True
