"""Several server processes starting at once on one fresh PostgreSQL database all come up.

Each process migrates and replaces the audit guard at start-up; without the
start-up lock they race on the same DDL (a migration applied twice, or
``tuple concurrently updated`` from the guard's CREATE OR REPLACE).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import sys
import textwrap

import asyncpg

from tests.conftest import PG_SERVER

PROCESSES = 4

_START = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    from server import database
    from tests.conftest import make_settings

    async def main():
        settings = make_settings(Path(sys.argv[2]), database_url=sys.argv[1])
        await database.start(settings)
        await database.stop()

    asyncio.run(main())
    """
)


async def _start_together(url: str, data_dir: str) -> list[tuple[int, str]]:
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", _START, url, data_dir, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        for _ in range(PROCESSES)
    ]
    results = []
    for proc in procs:
        _, err = await asyncio.wait_for(proc.communicate(), timeout=120)
        results.append((proc.returncode, err.decode(errors="replace")[-2000:]))
    return results


async def test_workers_starting_together_on_a_fresh_database_all_start(tmp_path) -> None:
    name = f"fieldcheck_startup_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(f"{PG_SERVER}/postgres")
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        for round_ in range(2):  # a fresh database, then one already migrated
            results = await _start_together(f"{PG_SERVER}/{name}", str(tmp_path))
            failed = [err for code, err in results if code != 0]
            assert not failed, f"round {round_}: {len(failed)} of {PROCESSES} failed to start:\n{failed[0]}"
        db = await asyncpg.connect(f"{PG_SERVER}/{name}")
        try:
            applied = await db.fetch("SELECT name FROM migration WHERE app_name = 'fieldcheck'")
            guards = await db.fetchval(
                "SELECT count(*) FROM pg_trigger WHERE tgname = 'audit_entry_append_only'"
            )
        finally:
            await db.close()
        names = [r["name"] for r in applied]
        assert len(names) == len(set(names)), f"a migration was applied twice: {sorted(names)}"
        assert guards == 1
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()

