"""``fieldcheck generate``: a small synthetic city loads, and its rollups equal the naive recount."""

from __future__ import annotations

import datetime as dt

import asyncpg
import httpx

from schemas.vocab import Role
from server.accounts.policy import Actor
from server.settings import Settings
from server.stats import generate as generator
from server.stats import query as stats_query
from server.stats import rollup as stats_rollup
from server.stats import views as stats_views
from server.stats.definitions import Dim
from server.stats.periods import Grain

LEADER = Actor(user_id=None, role=Role.LEADER)


async def test_generated_city_is_consistent_and_counted_the_same_both_ways(client: httpx.AsyncClient, settings: Settings) -> None:
    conn = await asyncpg.connect(settings.database.url)
    try:
        plan = generator.Plan(enterprises=300, inspections=6000, items_per_inspection=5, years=3, seed=7, chunk=2500,
                              today=dt.date(2026, 6, 30))
        report = await generator.generate(conn, plan, password_hash="!", progress=False, rebuild=stats_rollup.rebuild)
        assert report.rows["inspection"] == 6000 and report.rows["item_result"] == 30000
        assert report.rows["inspection_inspector"] == 12000
        # Referential integrity holds although the load skipped the FK triggers.
        orphans = await conn.fetchval(
            "SELECT (SELECT count(*) FROM item_result r LEFT JOIN inspection i ON i.id = r.inspection WHERE i.id IS NULL)"
            " + (SELECT count(*) FROM hazard h LEFT JOIN enterprise e ON e.id = h.enterprise WHERE e.id IS NULL)"
        )
        assert orphans == 0
        kinds = dict(await conn.fetch("SELECT kind, count(*) FROM inspection GROUP BY 1"))
        assert kinds["routine"] > kinds["covert"] > 0
        open_share = await conn.fetchval("SELECT avg((status <> 'closed')::int) FROM hazard")
        assert 0 < open_share < 0.2
        assert await conn.fetchval("SELECT count(*) FROM stats_dirty_month") == 0
        # The load analysed what it loaded (a manual ANALYZE, not autovacuum's).
        unanalysed = await conn.fetch(
            "SELECT relname FROM pg_stat_user_tables WHERE relname = ANY($1::text[]) AND last_analyze IS NULL",
            ["enterprise", *generator.BULK_TABLES],
        )
        assert not unanalysed, [r["relname"] for r in unanalysed]
    finally:
        await conn.close()
    for period in ("2025", "2026-Q1"):
        query = stats_query.query_from(period)
        fast = await stats_views.summary(LEADER, query)
        slow = await stats_views.summary(LEADER, query, backend="base")
        assert fast.figures == slow.figures
        assert next(f.value for f in fast.figures if f.key == "checks") > 0
        for by in (Dim.SECTOR, Dim.INSPECTOR):
            a = await stats_views.breakdown(LEADER, query, by, grain=Grain.QUARTER)
            b = await stats_views.breakdown(LEADER, query, by, grain=Grain.QUARTER, backend="base")
            assert [(r.group, r.figures) for r in a.rows] == [(r.group, r.figures) for r in b.rows]


def test_generate_command_refuses_sqlite(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    from server.cli import main

    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert main(["generate", "--data-dir", str(tmp_path), "--inspections", "10"]) == 2
