"""The backup service: a consistent ``pg_dump`` and a mirror of the object store, on a schedule.

    python -m deploy.backup [--once] [--every SECONDS] [--keep N] [--dir DIR]

Each round writes ``DIR/db/fieldcheck-<UTC time>.dump`` (``pg_dump --format=custom``) and its
``.json`` note, then copies every object not yet in ``DIR/objects`` (a plain folder, the layout of the
embedded file store). The dump is taken from a snapshot whose audit chain length is written in the note,
and audit checkpoints beyond that length wait for the next round: restoring a dump with the objects of the
same round therefore passes ``fieldcheck verify-audit``. Only the newest ``--keep`` dumps are kept; mirrored
objects are never deleted (evidence is write-once). Settings are the server's (``DATABASE_URL``,
``DATABASE_PASSWORD``, ``S3_*``); ``BACKUP_DIR``, ``BACKUP_INTERVAL_S`` and ``BACKUP_KEEP`` give the defaults
of the options. Copy ``DIR`` off the host (it holds personal data: keep it as protected as the database).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from deploy.mirror import MirrorReport, mirror
from server.settings import Settings
from storage.filesystem import FilesystemStore
from storage.keys import seq_of_audit_checkpoint_key

DUMP_PREFIX = "fieldcheck-"
#: After a failed round (database or store not answering), the next try comes this much later.
RETRY_AFTER_S = 300


@dataclass(frozen=True)
class Round:
    dump: Path
    audit_seq: int
    objects: MirrorReport


def pg_environment(settings: Settings) -> dict[str, str]:
    """The environment of a PostgreSQL client: the password kept out of the URL goes in ``PGPASSWORD``."""
    env = dict(os.environ)
    if settings.database.password:
        env["PGPASSWORD"] = settings.database.password
    return env


async def dump_database(settings: Settings, folder: Path, *, now: dt.datetime | None = None) -> tuple[Path, int]:
    """``pg_dump`` the database into ``folder``; returns the dump and the audit chain length it holds."""
    if not settings.database.is_postgres:
        raise ValueError("DATABASE_URL 须指向 PostgreSQL / backups need DATABASE_URL to name PostgreSQL")
    folder.mkdir(parents=True, exist_ok=True)
    stamp = (now or dt.datetime.now(dt.UTC)).strftime("%Y%m%dT%H%M%SZ")
    target = folder / f"{DUMP_PREFIX}{stamp}.dump"
    partial = target.with_suffix(".partial")
    connection = await asyncpg.connect(settings.database.url, password=settings.database.password or None)
    try:
        # One snapshot for the chain length and the dump, so the note says exactly what the dump holds.
        async with connection.transaction(isolation="repeatable_read", readonly=True):
            snapshot = await connection.fetchval("SELECT pg_export_snapshot()")
            audit_seq = await connection.fetchval("SELECT coalesce(max(seq), 0) FROM audit_entry")
            command = [
                "pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--snapshot={snapshot}",
                f"--file={partial}", f"--dbname={settings.database.url}",
            ]
            result = await asyncio.to_thread(
                subprocess.run, command, env=pg_environment(settings), capture_output=True, text=True
            )
    finally:
        await connection.close()
    if result.returncode != 0:
        partial.unlink(missing_ok=True)
        raise RuntimeError(f"pg_dump failed ({result.returncode}): {result.stderr.strip()}")
    os.replace(partial, target)
    note = {"dump": target.name, "audit_seq": int(audit_seq), "taken_at": stamp}
    target.with_suffix(".json").write_text(json.dumps(note, indent=2) + "\n")
    return target, int(audit_seq)


def prune(folder: Path, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` dumps (and their notes); returns what was deleted."""
    dumps = sorted(folder.glob(f"{DUMP_PREFIX}*.dump"))
    gone = dumps[: max(len(dumps) - keep, 0)]
    for dump in gone:
        dump.unlink()
        dump.with_suffix(".json").unlink(missing_ok=True)
    return gone


def within_chain(audit_seq: int):  # type: ignore[no-untyped-def]
    """Keep every object but the audit checkpoints of a chain longer than the dump's."""

    def keep(key: str) -> bool:
        seq = seq_of_audit_checkpoint_key(key)
        return seq is None or seq <= audit_seq

    return keep


async def backup_round(settings: Settings, folder: Path, *, keep: int) -> Round:
    from server.object_store import build_store

    dump, audit_seq = await dump_database(settings, folder / "db")
    objects = await mirror(build_store(settings), FilesystemStore(folder / "objects"), keep=within_chain(audit_seq))
    prune(folder / "db", keep)
    return Round(dump, audit_seq, objects)


def next_wait(every: int, *, failed: bool) -> int:
    """Seconds from the start of one round to the next: the interval, or soon after a failure."""
    return min(every, RETRY_AFTER_S) if failed else every


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.backup", description="备份数据库与对象存储 / back up the database and the object store")
    parser.add_argument("--once", action="store_true", help="一次后退出 / one round, then exit")
    parser.add_argument("--every", type=int, default=int(os.environ.get("BACKUP_INTERVAL_S", 86_400)), help="间隔秒数 / seconds between rounds")
    parser.add_argument("--keep", type=int, default=int(os.environ.get("BACKUP_KEEP", 14)), help="保留的转储数 / dumps kept")
    parser.add_argument("--dir", type=Path, default=Path(os.environ.get("BACKUP_DIR", "/backups")), help="备份目录 / backup folder")
    args = parser.parse_args(argv)
    if args.every < 60 or args.keep < 1:
        parser.error("--every must be at least 60 and --keep at least 1")
    settings = Settings.from_env()
    while True:
        started, failed = time.monotonic(), False
        try:
            done = asyncio.run(backup_round(settings, args.dir, keep=args.keep))
        except Exception as exc:  # a failed round is reported and tried again soon, not a whole interval later
            print(f"backup: FAILED: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
            if args.once:
                return 1
            failed = True
        else:
            print(f"backup: {done.dump.name} (audit seq {done.audit_seq}); objects: {done.objects.summary()}", flush=True)
            if done.objects.conflicts:
                print(f"backup: keys that differ from the mirror: {', '.join(done.objects.conflicts[:20])}", file=sys.stderr)
                if args.once:
                    return 1
            if args.once:
                return 0
        time.sleep(max(next_wait(args.every, failed=failed) - (time.monotonic() - started), 1))


if __name__ == "__main__":
    sys.exit(main())
