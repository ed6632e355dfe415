"""``fieldcheck demo`` from an empty database: seconds and statements, on SQLite and PostgreSQL.

    .venv/bin/python bench/demo_build.py [--pg postgresql://postgres@127.0.0.1:5432] [--rounds 1]

Each build runs in a child process of its own (fresh data folder, or a fresh PostgreSQL database dropped
afterwards), migrates, then times ``server.demo.load`` alone: wall seconds, CPU seconds of the process
(argon2's threads and aiosqlite's included) and the statements sent to the database (counted at the
driver: aiosqlite's and asyncpg's connection methods).

Baseline in the same run, on SQLite: the same build on Piccolo's own ``SQLiteEngine`` (a PRAGMA before
every statement of a transaction and four hops to aiosqlite's thread per statement), against the
engine ``server.database`` builds (one hop). Prints both and their ratio; the PostgreSQL build is timed
beside them. The machine is shared: compare figures of one run, not across runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _count_statements() -> list[int]:
    import aiosqlite
    import asyncpg.connection

    count = [0]

    def wrap(cls: type, name: str, is_async: bool) -> None:
        original = getattr(cls, name)
        if is_async:
            async def counted_async(self, *args, **kwargs):  # type: ignore[no-untyped-def]
                count[0] += 1
                return await original(self, *args, **kwargs)
            setattr(cls, name, counted_async)
        else:
            def counted(self, *args, **kwargs):  # type: ignore[no-untyped-def]
                count[0] += 1
                return original(self, *args, **kwargs)  # aiosqlite's are awaitable context managers
            setattr(cls, name, counted)

    for name in ("execute", "executemany", "executescript", "execute_fetchall"):
        wrap(aiosqlite.Connection, name, False)
    for name in ("execute", "executemany", "fetch", "fetchrow", "fetchval"):
        wrap(asyncpg.connection.Connection, name, True)
    return count


async def _one(engine: str) -> dict[str, object]:
    from piccolo.engine.sqlite import SQLiteEngine

    from server import database, demo
    from server.settings import Settings

    settings = Settings.from_env().with_secrets()
    if engine == "sqlite-piccolo":
        path = str(Path(settings.server.data_dir) / "fieldcheck.sqlite3")
        def piccolo_engine(built_for: Settings) -> SQLiteEngine:  # the baseline: Piccolo's engine as shipped
            shipped = SQLiteEngine(path=path)
            database._ZONES[id(shipped)] = (shipped, built_for.hazards.timezone)  # as build_engine binds its zone
            return shipped

        database.build_engine = piccolo_engine
    await database.start(settings)
    count = _count_statements()
    wall, cpu = time.perf_counter(), time.process_time()
    report = await demo.load(settings)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    await database.stop()
    h = report.history
    assert h is not None and h.checks > 150, report.summary()
    return {"engine": engine, "wall": wall, "cpu": cpu, "statements": count[0], "checks": h.checks}


def _run(engine: str, env: dict[str, str]) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, __file__, "--one", engine], env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
        capture_output=True, text=True, check=False,
    )
    if out.returncode != 0:
        raise SystemExit(f"{engine} build failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


async def _pg(server: str, sql: str) -> None:
    import asyncpg

    admin = await asyncpg.connect(f"{server}/postgres")
    try:
        await admin.execute(sql)
    finally:
        await admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432", help="PostgreSQL server ('' skips it)")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(asyncio.run(_one(args.one))))
        return
    keys = {  # made up for this run; the PostgreSQL mode refuses to start without them
        "FIELDCHECK_SECRET_KEY": secrets.token_urlsafe(32), "FIELDCHECK_ID_HASH_KEY": secrets.token_urlsafe(32),
        "FIELDCHECK_AUDIT_KEY": secrets.token_urlsafe(32),
    }
    results: list[dict[str, object]] = []
    for _ in range(args.rounds):
        for engine in ("sqlite-piccolo", "sqlite"):
            with tempfile.TemporaryDirectory(prefix="fieldcheck-demo-bench-") as data_dir:
                results.append(_run(engine, {"FIELDCHECK_DATA_DIR": data_dir, "DATABASE_URL": ""}))
        if args.pg:
            name = f"fieldcheck_demo_bench_{uuid.uuid4().hex[:8]}"
            asyncio.run(_pg(args.pg, f'CREATE DATABASE "{name}"'))
            try:
                with tempfile.TemporaryDirectory(prefix="fieldcheck-demo-bench-") as data_dir:
                    results.append(_run("postgresql", {**keys, "FIELDCHECK_DATA_DIR": data_dir,
                                                       "DATABASE_URL": f"{args.pg}/{name}"}))
            finally:
                asyncio.run(_pg(args.pg, f'DROP DATABASE IF EXISTS "{name}"'))
    for r in results:
        print(f"{r['engine']:15s} wall {r['wall']:6.2f} s  cpu {r['cpu']:6.2f} s  statements {r['statements']:6d}"
              f"  ({r['statements'] / r['checks']:.0f} per check, {r['checks']} checks)")
    base = sum(float(r["wall"]) for r in results if r["engine"] == "sqlite-piccolo")
    mine = sum(float(r["wall"]) for r in results if r["engine"] == "sqlite")
    print(f"sqlite: {base / mine:.2f}x the speed (wall) of the same build on Piccolo's engine, in this run")


if __name__ == "__main__":
    main()
