"""Previewing a campaign's pool: what a draw now would draw from, for its own supervisor, recording nothing."""

from __future__ import annotations

from schemas.vocab import Role
from server.audit.tables import AuditEntry
from server.spotchecks.tables import Draw
from tests.conftest import login, make_enterprise, make_user, username_of
from tests.server.spotchecks.conftest import BASE, World, world  # noqa: F401  (fixture)


async def test_the_preview_screens_the_pool_as_the_draw_does_and_records_nothing(client, world: World):
    await make_enterprise(sector="hazardous_chemicals", operating_status="suspended")
    campaign = await world.campaign(rules={"sample_size": None, "sample_percent": 50, "stratify_by": "district",
                                           "filters": {"sectors": ["hazardous_chemicals"]}})
    before = await AuditEntry.count()
    response = await client.get(f"{BASE}/campaigns/{campaign['id']}/pool", headers=world.supervisor)
    assert response.status_code == 200, response.text
    preview = response.json()
    assert preview["enterprises"] == 7 and preview["eligible_count"] == 6 and preview["sample_size"] == 3
    assert [(x["reason"], x["count"]) for x in preview["excluded"]] == [("not_operating", 1)]
    assert preview["strata"] == [{"key": "shapotou", "label": "沙坡头区", "count": 6}]
    assert preview["inspectors"] == 4 and preview["certified_inspectors"] == 4
    assert await AuditEntry.count() == before and await Draw.count() == 0

    drawn = await world.draw(campaign["id"])
    assert drawn["eligible_count"] == preview["eligible_count"] and drawn["sample_size"] == preview["sample_size"]


async def test_only_the_campaigns_own_supervisor_previews_its_pool(client, world: World):
    campaign = await world.campaign()
    url = f"{BASE}/campaigns/{campaign['id']}/pool"
    colleague = await login(client, await username_of(await make_user(Role.SUPERVISOR, department_id=world.department_id)))
    assert (await client.get(url, headers=colleague)).status_code == 403
    for role in (Role.LEADER, Role.ADMIN, Role.INSPECTOR):
        other = await login(client, await username_of(await make_user(role, department_id=world.department_id)))
        assert (await client.get(url, headers=other)).status_code == 403
