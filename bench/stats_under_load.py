"""B6: the dashboard while phones sync — quiet p95, p95 under 50 pushing phones, the naive GROUP BY, staleness; one run.

    .venv/bin/python bench/stats_under_load.py --engine postgresql --inspections 1000000
    .venv/bin/python bench/stats_under_load.py --engine sqlite --inspections 20000

Steps, in one process:
1. a city: on PostgreSQL the synthetic one (``server.stats.generate``, COPY); on SQLite the demo world
   (through the services) plus N checks over two years written as a push writes them; rollups rebuilt;
2. quiet: dashboard loads (``views.dashboard``: summary with 同比, trend, four breakdowns) over a
   rotation of scopes of the current year, p50/p95;
3. naive: the same loads on the base tables (``backend="base"``), p50/p95, the ratio;
4. under load: the background refresher runs (``server.stats.refresher``, every FIELDCHECK_STATS_FRESH_MS)
   while 50 simulated phones each push a submitted check into the current month every ~1 s (own
   transaction; the triggers queue the month); the reader times dashboard loads and records each one's
   staleness (read time − its 数据截至), p50/p95/max;
5. the phones stop, the refresher drains the queue, and the rollup figures must equal a full recount
   from the base tables (else the run fails).
Results also go to bench/results/stats_under_load_<engine>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.sync_common import PG, fresh_database, settings_for  # noqa: E402
from schemas.vocab import Role  # noqa: E402
from server import database  # noqa: E402
from server.accounts.policy import Actor  # noqa: E402
from server.settings import Settings  # noqa: E402
from server.stats import generate as generator  # noqa: E402
from server.stats import refresher  # noqa: E402
from server.stats import dialect as stats_dialect  # noqa: E402
from server.stats import query as stats_query  # noqa: E402
from server.stats import rollup as stats_rollup  # noqa: E402
from server.stats import views as stats_views  # noqa: E402
from server import localtime  # noqa: E402

#: The bureau's zone of the settings the bench builds (the default).
TZ = localtime.zone(Settings().hazards.timezone)
LEADER = Actor(user_id=None, role=Role.LEADER)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def rotation(year: int) -> list[stats_query.StatsQuery]:
    out = []
    for period in (f"{year}", f"{year}-{dt.datetime.now(TZ).month:02d}"):
        for district, sector in ((None, None), ("shapotou", None), (None, "hazardous_chemicals"), ("zhongning", "industry_trade")):
            out.append(stats_query.query_from(period, district, sector))
    return out


async def timed(query: stats_query.StatsQuery, backend: str = "rollup") -> tuple[float, float, object]:
    """(milliseconds, staleness in seconds, the dashboard)."""
    started = time.perf_counter()
    view = await stats_views.dashboard(LEADER, query, backend=backend)  # type: ignore[arg-type]
    ms = (time.perf_counter() - started) * 1000
    stale = (dt.datetime.now(dt.UTC) - dt.datetime.fromisoformat(view.freshness.as_of)).total_seconds()
    return ms, stale, view


_INSERT_INSPECTION = (
    "INSERT INTO inspection (id, kind, status, enterprise, template, department, submitted_at, started_at, created_at, updated_at) "
    "VALUES ($1, 'routine', 'submitted', $2, $3, $4, $5, $5, $5, $5)"
)
_INSERT_TEAM = 'INSERT INTO inspection_inspector (id, inspection, "user", is_lead, assigned_at) VALUES ($1, $2, $3, $4, $5)'
_INSERT_ITEM = "INSERT INTO item_result (id, inspection, item, outcome, updated_at) VALUES ($1, $2, $3, $4, $5)"


async def _world(conn: stats_dialect.Connection) -> dict:
    """What a pushed check refers to: enterprises with their sector's template and items, inspectors."""
    templates = {r["sector"]: r["id"] for r in await conn.fetch("SELECT id, sector FROM checklist_template")}
    items = {}
    for template in templates.values():
        items[template] = [r["id"] for r in await conn.fetch("SELECT id FROM checklist_item WHERE template = $1 LIMIT 5", template)]
    enterprises = [(r["id"], templates[r["sector"]]) for r in await conn.fetch("SELECT id, sector FROM enterprise") if r["sector"] in templates]
    inspectors = [(r["id"], r["department"]) for r in await conn.fetch(
        "SELECT id, department FROM app_user WHERE role = 'inspector' AND department IS NOT NULL")]
    return {"enterprises": enterprises, "items": items, "inspectors": inspectors}


def _check_rows(world: dict, rng: random.Random, when: dt.datetime) -> tuple[tuple, list[tuple], list[tuple]]:
    enterprise, template = rng.choice(world["enterprises"])
    (lead, department), (second, _) = rng.sample(world["inspectors"], 2)
    inspection = uuid.uuid4()
    team = [(uuid.uuid4(), inspection, lead, True, when), (uuid.uuid4(), inspection, second, False, when)]
    items = [(uuid.uuid4(), inspection, item, rng.choice(["pass", "pass", "fail", "not_applicable"]), when)
             for item in world["items"][template]]
    return (inspection, enterprise, template, department, when), team, items


async def push_check(conn: stats_dialect.Connection, world: dict, rng: random.Random, when: dt.datetime) -> None:
    """The rows a sync push writes for one submitted check, in one transaction (the triggers queue its month)."""
    check, team, items = _check_rows(world, rng, when)
    async with conn.transaction():
        await conn.execute(_INSERT_INSPECTION, *check)
        await conn.executemany(_INSERT_TEAM, team)
        await conn.executemany(_INSERT_ITEM, items)


async def build_sqlite_city(n: int, seed: int) -> None:
    from server import demo

    await demo.load(_SETTINGS, password="bench-pass-123", history=False)
    rng = random.Random(seed)
    now = dt.datetime.now(dt.UTC)
    async with stats_dialect.connect() as conn:
        world = await _world(conn)
        async with conn.transaction():
            checks, teams, items = [], [], []
            for _ in range(n):
                when = now - dt.timedelta(seconds=rng.randrange(730 * 86400))
                check, team, item_rows = _check_rows(world, rng, when)
                checks.append(check)
                teams += team
                items += item_rows
            await conn.executemany(_INSERT_INSPECTION, checks)
            await conn.executemany(_INSERT_TEAM, teams)
            await conn.executemany(_INSERT_ITEM, items)
    await stats_rollup.rebuild()


_SETTINGS: Settings | None = None


async def main() -> None:
    global _SETTINGS
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engine", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--inspections", type=int, default=1_000_000)
    parser.add_argument("--enterprises", type=int, default=20_000)
    parser.add_argument("--phones", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60, help="how long the phones push")
    parser.add_argument("--runs", type=int, default=40, help="quiet dashboard loads")
    parser.add_argument("--naive-runs", type=int, default=5)
    parser.add_argument("--fresh-ms", type=int, default=2000, help="the refresher's interval (FIELDCHECK_STATS_FRESH_MS)")
    parser.add_argument("--db", default="fc_bench_load")
    parser.add_argument("--reuse", action="store_true", help="keep an already generated PostgreSQL database")
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="fc-bench-stats-"))
    if args.engine == "postgresql":
        url = f"{PG}/{args.db}" if args.reuse else await fresh_database(args.db)
        _SETTINGS = settings_for(url, data_dir)
    else:
        _SETTINGS = settings_for("", data_dir)
    await database.start(_SETTINGS)
    results: dict[str, object] = {"engine": args.engine, "host": {"cpus": os.cpu_count(), "python": platform.python_version()}}
    started = time.perf_counter()
    async with stats_dialect.connect() as conn:
        have = await conn.fetchval("SELECT count(*) FROM inspection")
    if have == 0:
        if args.engine == "postgresql":
            raw = await asyncpg.connect(f"{PG}/{args.db}")
            try:
                plan = generator.Plan(enterprises=args.enterprises, inspections=args.inspections, items_per_inspection=5, years=2)
                await generator.generate(raw, plan, password_hash="!bench-no-login", progress=False)
                await stats_rollup.rebuild(raw)
                await raw.execute("ANALYZE")
            finally:
                await raw.close()
        else:
            await build_sqlite_city(args.inspections, seed=20231)
    await stats_rollup.refresh()  # whatever the migrations queued (a reused database): counted before timing
    async with stats_dialect.connect() as conn:
        size = await conn.fetchval("SELECT count(*) FROM inspection")
    results["inspections"] = size
    results["setup_s"] = round(time.perf_counter() - started, 1)
    print(f"{args.engine}: {size:,} checks (setup {results['setup_s']} s)")

    year = dt.datetime.now(TZ).year
    scopes = rotation(year)
    for query in scopes:  # warm caches and plans
        await timed(query)
    quiet = [(await timed(scopes[i % len(scopes)]))[0] for i in range(args.runs)]
    naive = [(await timed(scopes[i % len(scopes)], "base"))[0] for i in range(args.naive_runs)]

    # Under load: 50 phones push into the current month while the refresher keeps the rollups current.
    stop = asyncio.Event()
    pushed = 0
    # The phones' connections are their own, as the sync API's would be: taken from the statistics' pool they
    # would leave the dashboard and the refresher none (pool_max 10) and the run would hang.
    if args.engine == "postgresql":
        raws = [await asyncpg.connect(f"{PG}/{args.db}") for _ in range(min(args.phones, 10))]
        conns = [stats_dialect.PostgresConnection(raw, TZ.key) for raw in raws]
    else:
        pool = [stats_dialect.connect() for _ in range(min(args.phones, 10))]
        conns = [await c.__aenter__() for c in pool]
    async with stats_dialect.connect() as conn:
        world = await _world(conn)
    locks = [asyncio.Lock() for _ in conns]

    async def phone(n: int) -> None:
        nonlocal pushed
        rng = random.Random(n)
        while not stop.is_set():
            slot = n % len(conns)
            async with locks[slot]:
                try:
                    await push_check(conns[slot], world, rng, dt.datetime.now(dt.UTC))
                    pushed += 1
                except Exception as error:  # noqa: BLE001 (SQLite busy: the phone retries next round, as a real one does)
                    if "locked" not in str(error):
                        raise
            await asyncio.sleep(rng.uniform(0.5, 1.5))

    loop = asyncio.create_task(refresher.run(args.fresh_ms / 1000))
    phones = [asyncio.create_task(phone(n)) for n in range(args.phones)]
    loaded, stale = [], []
    until = time.perf_counter() + args.seconds
    i = 0
    while time.perf_counter() < until:
        ms, lag, _ = await timed(scopes[i % len(scopes)])
        loaded.append(ms)
        stale.append(lag)
        i += 1
        await asyncio.sleep(0.2)
    stop.set()
    await asyncio.gather(*phones)
    # Drain: the refresher catches up with the last pushes.
    for _ in range(600):
        async with stats_dialect.connect() as conn:
            if not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM stats_dirty_month)"):
                break
        await asyncio.sleep(0.1)
    loop.cancel()
    await asyncio.gather(loop, return_exceptions=True)
    if args.engine == "postgresql":
        for raw in raws:
            await raw.close()
    else:
        for cm in pool:
            await cm.__aexit__(None, None, None)

    # The figures at the end equal a full recount from the base tables.
    equal = True
    for query in scopes[:2]:
        _, _, fast = await timed(query)
        _, _, slow = await timed(query, "base")
        equal &= fast.summary.figures == slow.summary.figures  # type: ignore[attr-defined]
        for view in ("trend", "by_district", "by_sector", "by_department", "by_inspector"):
            a, b = getattr(fast, view), getattr(slow, view)
            equal &= [(r.group, r.figures) for r in a.rows] == [(r.group, r.figures) for r in b.rows]

    timing = {
        "quiet_p50_ms": round(statistics.median(quiet), 1), "quiet_p95_ms": round(percentile(quiet, 0.95), 1),
        "naive_p50_ms": round(statistics.median(naive), 1), "naive_p95_ms": round(percentile(naive, 0.95), 1),
        "loaded_p50_ms": round(statistics.median(loaded), 1), "loaded_p95_ms": round(percentile(loaded, 0.95), 1),
        "staleness_p50_s": round(statistics.median(stale), 2), "staleness_p95_s": round(percentile(stale, 0.95), 2),
        "staleness_max_s": round(max(stale), 2), "loads_under_load": len(loaded), "checks_pushed": pushed,
        "phones": args.phones, "seconds": args.seconds, "fresh_ms": args.fresh_ms, "equal_to_full_recount": equal,
    }
    timing["ratio_naive_to_loaded_p95"] = round(timing["naive_p95_ms"] / timing["loaded_p95_ms"], 1)
    timing["ratio_loaded_to_quiet_p95"] = round(timing["loaded_p95_ms"] / timing["quiet_p95_ms"], 2)
    results["dashboard"] = timing
    print(
        f"quiet p50 {timing['quiet_p50_ms']} ms p95 {timing['quiet_p95_ms']} ms | naive p50 {timing['naive_p50_ms']} ms "
        f"p95 {timing['naive_p95_ms']} ms | under {args.phones} phones ({pushed} checks pushed in {args.seconds:g} s) "
        f"p50 {timing['loaded_p50_ms']} ms p95 {timing['loaded_p95_ms']} ms"
    )
    print(f"ratio naive/loaded p95 {timing['ratio_naive_to_loaded_p95']}x, loaded/quiet p95 {timing['ratio_loaded_to_quiet_p95']}x")
    print(f"staleness (read time − 数据截至) p50 {timing['staleness_p50_s']} s, p95 {timing['staleness_p95_s']} s, "
          f"max {timing['staleness_max_s']} s over {len(loaded)} loads")
    print(f"figures at the end equal a full recount: {'PASS' if equal else 'FAIL'}; "
          f"p95 under load < 150 ms: {'PASS' if timing['loaded_p95_ms'] < 150 else 'FAIL'}; "
          f"staleness p95 < 10 s: {'PASS' if timing['staleness_p95_s'] < 10 else 'FAIL'}")
    await database.stop()
    out = Path(__file__).resolve().parent / "results"
    out.mkdir(exist_ok=True)
    (out / f"stats_under_load_{args.engine}.json").write_text(json.dumps(results, ensure_ascii=False, indent=2, default=str))
    if not equal:
        sys.exit(1)


if __name__ == "__main__":
    asyncio.run(main())
