"""B5: the leader dashboard at city scale — rollups vs the naive GROUP BY over the base tables, same run.

    .venv/bin/python bench/stats_dashboard.py                 # 1,000,000 inspections, 5,000,000 item results
    .venv/bin/python bench/stats_dashboard.py --inspections 100000 --reuse

Steps, all in one process on one PostgreSQL database (``fc_bench_stats`` unless --db):
1. generate the synthetic city with COPY (``server.stats.generate``), print rows/s;
2. rebuild the rollups once, print the time;
3. check that rollup and naive figures are identical for one scope (the benchmark is void otherwise);
4. time the dashboard's full set of queries (``views.dashboard``: summary with 同比, the trend and the
   breakdowns by district, sector, department and inspector) over a rotation of scopes, on the rollups
   and on the base tables; print p50/p95 and the ratio;
5. freshness: write a check the way a sync push does (triggers queue its month), time one round of the
   background refresher (it recounts that month) and the read after it, and show the new check is counted
   (under concurrent phones: bench/stats_under_load.py).
Results also go to bench/results/stats_dashboard.json.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import statistics
import sys
import time
import uuid
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from schemas.vocab import Role  # noqa: E402
from server import database  # noqa: E402
from server.accounts.policy import Actor  # noqa: E402
from server.settings import AuditSettings, AuthSettings, DatabaseSettings, PrivacySettings, Settings  # noqa: E402
from server.stats import generate as generator  # noqa: E402
from server.stats import query as stats_query  # noqa: E402
from server.stats import rollup as stats_rollup  # noqa: E402
from server.stats import views as stats_views  # noqa: E402
from server import localtime  # noqa: E402

PG = os.environ.get("FIELDCHECK_BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
#: The bureau's zone of the settings the bench builds (the default).
TZ = localtime.zone(Settings().hazards.timezone)
LEADER = Actor(user_id=None, role=Role.LEADER)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def scopes(year: int) -> list[stats_query.StatsQuery]:
    """The rotation of filters a leader clicks through (period × district × sector)."""
    out = []
    for period in (f"{year}", f"{year}-Q2", f"{year}-Q4", f"{year}-06", f"{year - 1}"):
        for district, sector in ((None, None), ("shapotou", None), (None, "hazardous_chemicals"), ("zhongning", "industry_trade")):
            query = stats_query.query_from(period, district, sector)
            out.append(query)
    return out


async def timed_dashboard(query: stats_query.StatsQuery, backend: str) -> tuple[float, object]:
    started = time.perf_counter()
    result = await stats_views.dashboard(LEADER, query, backend=backend)  # type: ignore[arg-type]
    return (time.perf_counter() - started) * 1000, result


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--inspections", type=int, default=1_000_000)
    parser.add_argument("--items", type=int, default=5)
    parser.add_argument("--enterprises", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=60, help="dashboard loads on the rollups")
    parser.add_argument("--naive-runs", type=int, default=5, help="dashboard loads on the base tables")
    parser.add_argument("--db", default="fc_bench_stats")
    parser.add_argument("--reuse", action="store_true", help="keep an already generated database")
    parser.add_argument("--rebuild", action="store_true", help="with --reuse: rebuild the rollups (timed)")
    args = parser.parse_args()

    admin = await asyncpg.connect(f"{PG}/postgres")
    exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", args.db)
    if exists and not args.reuse:
        await admin.execute(f'DROP DATABASE "{args.db}" WITH (FORCE)')
        exists = None
    if not exists:
        await admin.execute(f'CREATE DATABASE "{args.db}"')
    await admin.close()

    settings = Settings(
        database=DatabaseSettings(url=f"{PG}/{args.db}", pool_min=2, pool_max=6),
        auth=AuthSettings(secret_key="bench-token-signing-key-0123456789-" + "x" * 8),
        privacy=PrivacySettings(id_hash_key="bench-id-hash-key-0123456789-" + "y" * 8),
        audit=AuditSettings(checkpoint_key="bench-audit-key-0123456789-" + "z" * 16),
    )
    await database.start(settings)
    results: dict[str, object] = {
        "host": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "plan": {"inspections": args.inspections, "items_per_inspection": args.items, "enterprises": args.enterprises},
    }
    conn = await asyncpg.connect(f"{PG}/{args.db}")
    try:
        have = await conn.fetchval("SELECT count(*) FROM inspection")
        if have == 0:
            plan = generator.Plan(enterprises=args.enterprises, inspections=args.inspections, items_per_inspection=args.items)
            report = await generator.generate(conn, plan, password_hash="!bench-no-login")
            total = sum(report.rows.values())
            print(report.summary())
            results["generate"] = {"rows": report.rows, "seconds": round(report.seconds, 1), "rows_per_s": round(total / report.seconds)}
            started = time.perf_counter()
            await stats_rollup.rebuild(conn)
            results["rebuild_s"] = round(time.perf_counter() - started, 2)
            print(f"rollups rebuilt in {results['rebuild_s']} s")
        else:
            print(f"reusing {have:,} inspections in {args.db}")
            if args.rebuild:
                started = time.perf_counter()
                await stats_rollup.rebuild(conn)
                results["rebuild_s"] = round(time.perf_counter() - started, 2)
                print(f"rollups rebuilt in {results['rebuild_s']} s")
        await conn.execute("ANALYZE")
        counts = {t: await conn.fetchval(f"SELECT count(*) FROM {t}") for t in ("inspection", "item_result", "hazard",
                                                                                 "violation_record", "enforcement_action", "recheck")}
        print("base rows:", ", ".join(f"{k} {v:,}" for k, v in counts.items()))
        results["base_rows"] = counts
        sizes = {t: await conn.fetchval(f"SELECT count(*) FROM {t}") for t in ("stats_monthly", "stats_inspector_monthly", "stats_coverage")}
        print("rollup rows:", ", ".join(f"{k} {v:,}" for k, v in sizes.items()))
        results["rollup_rows"] = sizes

        year = dt.datetime.now(TZ).year - 1
        rotation = scopes(year)

        # 3. Same figures both ways, or the comparison means nothing.
        _, fast = await timed_dashboard(rotation[0], "rollup")
        _, slow = await timed_dashboard(rotation[0], "base")
        assert fast.summary.figures == slow.summary.figures, "rollup and naive summaries differ"  # type: ignore[attr-defined]
        for view in ("trend", "by_district", "by_sector", "by_department", "by_inspector"):
            a, b = getattr(fast, view), getattr(slow, view)
            assert [(r.group, r.figures) for r in a.rows] == [(r.group, r.figures) for r in b.rows], f"{view} differs"
        print("rollup figures == naive figures (summary, trend and four breakdowns)")

        # 4. Timings.
        for query in rotation[:5]:  # warm caches and plans
            await timed_dashboard(query, "rollup")
        fast_ms = [(await timed_dashboard(rotation[i % len(rotation)], "rollup"))[0] for i in range(args.runs)]
        slow_ms = [(await timed_dashboard(rotation[i % len(rotation)], "base"))[0] for i in range(args.naive_runs)]
        timing = {
            "rollup_p50_ms": round(statistics.median(fast_ms), 1),
            "rollup_p95_ms": round(percentile(fast_ms, 0.95), 1),
            "naive_p50_ms": round(statistics.median(slow_ms), 1),
            "naive_p95_ms": round(percentile(slow_ms, 0.95), 1),
        }
        timing["ratio_p50"] = round(timing["naive_p50_ms"] / timing["rollup_p50_ms"], 1)
        timing["ratio_p95"] = round(timing["naive_p95_ms"] / timing["rollup_p95_ms"], 1)
        results["dashboard"] = timing | {"runs": args.runs, "naive_runs": args.naive_runs}
        print(
            f"dashboard full set of queries: rollup p50 {timing['rollup_p50_ms']} ms, p95 {timing['rollup_p95_ms']} ms "
            f"({args.runs} loads); naive p50 {timing['naive_p50_ms']} ms, p95 {timing['naive_p95_ms']} ms "
            f"({args.naive_runs} loads); ratio p50 {timing['ratio_p50']}x, p95 {timing['ratio_p95']}x"
        )
        print(f"target p95 < 150 ms: {'PASS' if timing['rollup_p95_ms'] < 150 else 'FAIL'}; "
              f"target ratio >= 20x: {'PASS' if timing['ratio_p95'] >= 20 else 'FAIL'}")

        # 5. Freshness: a check synced now is in the very next read.
        this_year = stats_query.query_from(str(year + 1))
        before = await stats_views.summary(LEADER, this_year)
        checks_before = next(f.value for f in before.figures if f.key == "checks")
        await _sync_one_check(conn)
        started = time.perf_counter()
        await stats_rollup.refresh()  # the background refresher's round; no read waits for it
        recount_ms = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        after_view = await stats_views.dashboard(LEADER, this_year)
        fresh_ms = (time.perf_counter() - started) * 1000
        checks_after = next(f.value for f in after_view.summary.figures if f.key == "checks")
        assert checks_after == checks_before + 1, (checks_before, checks_after)
        again_ms = (await timed_dashboard(this_year, "rollup"))[0]
        results["freshness"] = {"refresher_round_ms": round(recount_ms, 1), "first_read_after_sync_ms": round(fresh_ms, 1),
                                "next_read_ms": round(again_ms, 1)}
        print(f"freshness: the refresher's round recounted the month in {recount_ms:.0f} ms; the next read counted the "
              f"new check in {fresh_ms:.0f} ms, the one after {again_ms:.0f} ms")
    finally:
        await conn.close()
        await database.stop()
    out = Path(__file__).resolve().parent / "results"
    out.mkdir(exist_ok=True)
    (out / "stats_dashboard.json").write_text(json.dumps(results, ensure_ascii=False, indent=2, default=str))


async def _sync_one_check(conn: asyncpg.Connection) -> None:
    """The rows a sync push writes for one submitted check (triggers on, one transaction)."""
    now = dt.datetime.now(dt.UTC)
    row = await conn.fetchrow(
        "SELECT e.id AS enterprise, t.id AS template, d.id AS department, u.id AS inspector "
        "FROM enterprise e, checklist_template t, department d, app_user u "
        "WHERE e.sector = t.sector AND u.department = d.id AND u.role = 'inspector' LIMIT 1"
    )
    items = await conn.fetch("SELECT id FROM checklist_item WHERE template = $1 LIMIT 5", row["template"])
    inspection_id = uuid.uuid4()
    async with conn.transaction():
        await conn.execute(
            "INSERT INTO inspection (id, kind, status, enterprise, template, department, submitted_at, created_at, updated_at) "
            "VALUES ($1, 'routine', 'submitted', $2, $3, $4, $5, $5, $5)",
            inspection_id, row["enterprise"], row["template"], row["department"], now,
        )
        await conn.execute(
            "INSERT INTO inspection_inspector (id, inspection, \"user\", is_lead, assigned_at) VALUES ($1, $2, $3, true, $4)",
            uuid.uuid4(), inspection_id, row["inspector"], now,
        )
        await conn.executemany(
            "INSERT INTO item_result (id, inspection, item, outcome, updated_at) VALUES ($1, $2, $3, 'pass', $4)",
            [(uuid.uuid4(), inspection_id, r["id"], now) for r in items],
        )


if __name__ == "__main__":
    asyncio.run(main())
