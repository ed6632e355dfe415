"""``fieldcheck escalate-overdue``: the scheduled pass of the overdue ladder (run it from cron, e.g. hourly)."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys

from server.commands import command, open_database, settings_from


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--at",
        type=dt.datetime.fromisoformat,
        help="按此时刻计算（ISO 8601，含时区），默认当前时间 / evaluate as of this instant (default: now)",
    )


@command("escalate-overdue", "逾期隐患升级与到期复查 / apply due escalation rungs and deadline rechecks", arguments=_arguments)
def escalate_overdue(args: argparse.Namespace) -> int:
    from server import database
    from server.hazards import escalation as hazard_escalation

    if args.at is not None and args.at.tzinfo is None:
        print("ERROR: --at needs a time zone, e.g. 2023-06-01T09:00+08:00", file=sys.stderr)
        return 2
    settings = settings_from(args).with_secrets()

    async def run():
        async with open_database(settings):
            async with database.transaction():
                return await hazard_escalation.escalate_overdue(settings, now=args.at)

    result = asyncio.run(run())
    print(f"OK: {result.escalations} escalation step(s) applied, {result.rechecks_created} recheck(s) created")
    return 0
