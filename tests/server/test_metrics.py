"""``/metrics``: Prometheus counters for a scraper holding the configured token, and nothing for anyone else."""

from __future__ import annotations

import dataclasses
import re

import httpx

from schemas.inspections import StartInspection
from server.app import create_app
from server.settings import Settings
from tests.server.sync.conftest import Team, make_phone, team  # noqa: F401  (fixture)
from tests.server.sync.test_push import NOW

TOKEN = "metrics-token-for-the-test-0123456789"


def _value(text: str, name: str) -> float:
    found = re.search(rf"^{re.escape(name)} ([0-9.e+]+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


async def test_metrics_count_pushes_for_the_scraper_only(client: httpx.AsyncClient, team: Team, app, settings: Settings) -> None:  # noqa: F811
    assert (await client.get("/metrics")).status_code == 404  # no token configured: not served at all
    scraped = create_app(dataclasses.replace(settings, server=dataclasses.replace(settings.server, metrics_token=TOKEN)))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=scraped), base_url="http://fieldcheck.test") as scraper:
        assert (await scraper.get("/metrics")).status_code == 404
        assert (await scraper.get("/metrics", headers={"authorization": "Bearer wrong"})).status_code == 404
        phone_headers = (await make_phone(client, team.inspectors[0])).headers
        assert (await scraper.get("/metrics", headers=phone_headers)).status_code == 404  # a user's token is not it

        before = (await scraper.get("/metrics", headers={"authorization": f"Bearer {TOKEN}"})).text
        phone = await make_phone(client, team.inspectors[0])
        inspection = await team.assign(client)
        await phone.push([StartInspection(seq=phone.seq(), inspection_id=inspection, started_at=NOW)])
        await phone.pull_all()
        response = await scraper.get("/metrics", headers={"authorization": f"Bearer {TOKEN}"})
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
        after = response.text
    assert _value(after, "fieldcheck_sync_pushes_total") == _value(before, "fieldcheck_sync_pushes_total") + 1
    applied = 'fieldcheck_sync_mutations_total{outcome="applied"}'
    assert _value(after, applied) == _value(before, applied) + 1
    assert _value(after, "fieldcheck_sync_pulls_total") >= _value(before, "fieldcheck_sync_pulls_total") + 1
    assert "fieldcheck_server_errors_total" in after and "fieldcheck_evidence_upload_bytes_total" in after
