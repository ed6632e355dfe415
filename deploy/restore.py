"""Restore a backup made by ``deploy.backup`` into a fresh database and object store.

    python -m deploy.restore database DUMP      # into the EMPTY database named by DATABASE_URL
    python -m deploy.restore objects FOLDER     # the mirrored objects into the store named by S3_* (or files)

Then run ``fieldcheck verify-audit``: it must print ``OK`` and reach the checkpoint the backup holds.
The database step refuses a database that already has tables (a restore never merges into live data)
and runs ``pg_restore`` in one transaction, stopping at the first error. Restore the objects of the same
backup round (or a later one: the mirror only grows); see README "备份与恢复".
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
from pathlib import Path

import asyncpg

from deploy.backup import pg_environment
from deploy.mirror import mirror
from server.settings import Settings
from storage.filesystem import FilesystemStore


async def restore_database(settings: Settings, dump: Path) -> None:
    if not settings.database.is_postgres:
        raise ValueError("DATABASE_URL 须指向 PostgreSQL / restore needs DATABASE_URL to name PostgreSQL")
    if not dump.is_file():
        raise FileNotFoundError(f"no dump at {dump}")
    connection = await asyncpg.connect(settings.database.url, password=settings.database.password or None)
    try:
        tables = await connection.fetchval("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
    finally:
        await connection.close()
    if tables:
        raise RuntimeError(f"目标数据库不为空（{tables} 张表）/ the target database is not empty ({tables} tables): restore into a new one")
    command = [
        "pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
        f"--dbname={settings.database.url}", str(dump),
    ]
    result = await asyncio.to_thread(subprocess.run, command, env=pg_environment(settings), capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"pg_restore failed ({result.returncode}): {result.stderr.strip()}")


async def restore_objects(settings: Settings, folder: Path) -> str:
    from server.object_store import build_store

    if not folder.is_dir():
        raise FileNotFoundError(f"no mirrored objects at {folder}")
    store = build_store(settings)
    if hasattr(store, "ensure_bucket"):
        await store.ensure_bucket()
    report = await mirror(FilesystemStore(folder), store)
    if report.conflicts:
        raise RuntimeError(f"keys that differ in the target store: {', '.join(report.conflicts[:20])}")
    return report.summary()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.restore", description="从备份恢复 / restore a backup")
    sub = parser.add_subparsers(dest="what", required=True)
    sub.add_parser("database", help="pg_restore a dump into an empty database").add_argument("dump", type=Path)
    sub.add_parser("objects", help="copy mirrored objects into the object store").add_argument("folder", type=Path)
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    try:
        if args.what == "database":
            asyncio.run(restore_database(settings, args.dump))
            print(f"restore: database restored from {args.dump.name}; now run fieldcheck verify-audit")
        else:
            print(f"restore: objects: {asyncio.run(restore_objects(settings, args.folder))}")
    except Exception as exc:
        print(f"restore: FAILED: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
