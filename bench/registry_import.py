"""B-import: a 20,000-enterprise registry file imported as the console and the API do it, vs a raw insert, same run.

    .venv/bin/python bench/registry_import.py                  # 20,000 rows, CSV
    .venv/bin/python bench/registry_import.py --rows 20000 --format xlsx

Measured (on a throw-away PostgreSQL database): the whole import path of
``server.registry.imports`` — the file saved as it streams, judged, every row
checked by the registry's rules (EnterpriseCreate, GB 32100), duplicates looked
up in the rows staged so far and in the registry, rows staged 500 at a time (COPY), then
confirmed and applied: payloads prepared in committed batches (progress in the
database), then one transaction that inserts every enterprise by INSERT … SELECT
from the staging table and publishes the change feed by SQL, audited once.
Baseline: the same rows already parsed, inserted into ``enterprise`` by one
asyncpg ``executemany`` in one transaction (no checks, no staging, no feed).

Memory: a second run of the import under tracemalloc prints the peak of Python
allocations per phase (check, apply), and the process's peak RSS. Neither peak
grows with the file (tests/server/registry/test_import_apply.py compares 500
and 5,000 rows): a credit code seen earlier in the file is looked up among the
staged rows, not kept in memory.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import resource
import sys
import tempfile
import time
import tracemalloc
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.sync_common import drop_database, fresh_database, settings_for  # noqa: E402
from schemas.vocab import Role  # noqa: E402
from server import database  # noqa: E402
from server.accounts.policy import Actor  # noqa: E402
from server.accounts.tables import User  # noqa: E402
from server.registry import imports  # noqa: E402
from server.registry.tables import Enterprise  # noqa: E402
from tests.server.registry.import_files import registry_file  # noqa: E402

_TABLES = '"enterprise_import_row", "enterprise_import", "enterprise", "change"'


async def _chunks(path: Path):
    with path.open("rb") as f:
        while piece := f.read(1 << 16):
            yield piece


async def _import(actor: Actor, path: Path, settings, *, traced: bool) -> dict[str, float]:
    """One import through the service, phase by phase; seconds (and tracemalloc peaks when ``traced``)."""
    figures: dict[str, float] = {}
    began = time.perf_counter()
    if traced:
        tracemalloc.reset_peak()
    saved = await imports.save_upload(_chunks(path), settings)
    async with database.transaction():
        started, sheet = await imports.start(actor, saved, path.name, settings)
    await imports.check(started.id, sheet, settings)
    figures["check_s"] = time.perf_counter() - began
    if traced:
        figures["check_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.reset_peak()
    applied_at = time.perf_counter()
    async with database.transaction():
        await imports.confirm(actor, started.id)
    await imports.apply(actor, started.id)
    figures["apply_s"] = time.perf_counter() - applied_at
    if traced:
        figures["apply_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
    figures["total_s"] = time.perf_counter() - began
    status = await imports.get(actor, started.id)
    assert status.status == "applied", (status.status, status.failure)
    figures["written"] = status.applied_rows
    return figures


async def _raw_insert(rows: list[list[str]]) -> float:
    """The baseline: the same enterprises inserted as they are, one executemany in one transaction."""
    now = dt.datetime.now(dt.UTC)
    sectors = {"危险化学品": "hazardous_chemicals", "冶金": "metallurgy", "工贸": "industry_trade", "非煤矿山": "non_coal_mining"}
    districts = {"沙坡头区": "shapotou", "中宁县": "zhongning", "海原县": "haiyuan"}
    values = [
        (uuid.uuid4(), r[0], r[1], sectors[r[2]], districts[r[3]], r[4], float(r[5]), float(r[6]), "B", "level_3",
         r[9] == "是", "operating", r[11], r[12], "", 1, now, now)
        for r in rows
    ]
    engine = database.get_engine()
    began = time.perf_counter()
    async with engine.pool.acquire() as conn:
        async with conn.transaction():
            await conn.executemany(
                "INSERT INTO enterprise (id, credit_code, name, sector, district, address, longitude, latitude, risk_grade,"
                " standardization_level, major_hazard_source, operating_status, contact_name, contact_phone, notes,"
                " version, created_at, updated_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18)",
                values,
            )
    return time.perf_counter() - began


async def main(rows: int, kind: str) -> None:
    name = f"fieldcheck_bench_import_{uuid.uuid4().hex[:6]}"
    url = await fresh_database(name)
    data_dir = Path(tempfile.mkdtemp(prefix="fieldcheck-bench-import-"))
    settings = settings_for(url, data_dir)
    await database.start(settings)
    try:
        sheet = registry_file(rows, salt=1, bad=False)
        path = data_dir / f"registry.{kind}"
        path.write_bytes(sheet.csv() if kind == "csv" else sheet.xlsx())
        admin = uuid.uuid4()
        now = dt.datetime.now(dt.UTC)
        await User.insert(User(id=admin, username="bench-admin", display_name="压测管理员", password_hash="x",
                               role=Role.ADMIN, districts=[], created_at=now, updated_at=now))
        actor = Actor(user_id=admin, role=Role.ADMIN, username="bench-admin")
        print(f"{rows} enterprises, {kind} file of {path.stat().st_size / 2**20:.1f} MiB")

        timed = await _import(actor, path, settings, traced=False)
        assert await Enterprise.count() == rows
        await database.get_engine().run_ddl(f"TRUNCATE {_TABLES} CASCADE")
        baseline = await _raw_insert(sheet.rows)
        assert await Enterprise.count() == rows
        await database.get_engine().run_ddl(f"TRUNCATE {_TABLES} CASCADE")

        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        tracemalloc.start()
        traced = await _import(actor, path, settings, traced=True)
        tracemalloc.stop()
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

        print(f"import (check + confirm + apply): {timed['total_s']:.2f} s "
              f"(check {timed['check_s']:.2f} s, apply {timed['apply_s']:.2f} s), {int(timed['written'])} written")
        print(f"baseline (raw executemany insert of the same rows): {baseline:.2f} s")
        print(f"ratio import / baseline: {timed['total_s'] / baseline:.1f}x "
              f"(apply alone / baseline: {timed['apply_s'] / baseline:.1f}x)")
        print(f"tracemalloc peak: check {traced['check_peak_mb']:.1f} MiB, apply {traced['apply_peak_mb']:.1f} MiB")
        print(f"peak RSS of the process: {rss_before:.0f} MiB before the traced import, {rss_after:.0f} MiB after")
    finally:
        await database.stop()
        await drop_database(name)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--format", choices=("csv", "xlsx"), default="csv")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.rows, arguments.format))
