"""``fieldcheck run-job``: run one scheduled job now, from a shell or an outside scheduler."""

from __future__ import annotations

import argparse
import asyncio

from server.commands import command, open_database, settings_from


def _arguments(parser: argparse.ArgumentParser) -> None:
    from server.jobs.catalogue import JOBS

    parser.add_argument("job", choices=[job.name for job in JOBS], help="任务名 / job name")


@command("run-job", "立即运行一个定时任务（服务内已按间隔自动运行）/ run one scheduled job now", arguments=_arguments)
def run_job_command(args: argparse.Namespace) -> int:
    from server.accounts.policy import SYSTEM
    from server.jobs import service as jobs_service

    settings = settings_from(args).with_secrets()

    async def run():  # type: ignore[no-untyped-def]
        async with open_database(settings):
            return await jobs_service.run_now(SYSTEM, args.job, settings)

    result = asyncio.run(run())
    print(f"{'OK' if result.outcome == 'ok' else 'ERROR'}: {result.job} {result.outcome}, {result.items} item(s); {result.message}")
    return 0 if result.outcome == "ok" else 1
