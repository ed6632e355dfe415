"""``fieldcheck evidence-gc``: remove unfinished uploads and unreferenced objects (run it daily from cron)."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt

import msgspec

from server.commands import command, open_database, settings_from
from server.object_store import build_store


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--older-than-s",
        type=int,
        help="只清理早于此秒数的对象，默认 EVIDENCE_GC_AFTER_S / age in seconds (default: EVIDENCE_GC_AFTER_S)",
    )


@command("evidence-gc", "清理过期的未完成上传与无引用文件（已完成的证据不受影响）/ collect evidence garbage", arguments=_arguments)
def evidence_gc(args: argparse.Namespace) -> int:
    from server import database
    from server.evidence import service as evidence_service

    settings = settings_from(args).with_secrets()
    age = dt.timedelta(seconds=args.older_than_s if args.older_than_s is not None else settings.evidence.gc_after_s)

    async def run():  # type: ignore[no-untyped-def]
        store = build_store(settings)
        if hasattr(store, "ensure_bucket"):
            await store.ensure_bucket()
        async with open_database(settings):
            async with database.transaction():
                return await evidence_service.collect_garbage(store, older_than=age)

    report = asyncio.run(run())
    print("OK: " + ", ".join(f"{k}={v}" for k, v in msgspec.structs.asdict(report).items()))
    return 0
