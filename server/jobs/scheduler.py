"""The in-process scheduler (APScheduler) that fires every job of the catalogue at its interval."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger
from litestar import Litestar

from server.jobs.catalogue import JOBS, Job
from server.jobs.runner import run_job
from server.settings import Settings

log = logging.getLogger(__name__)

_EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
#: How long shutdown waits for runs in progress to finish.
SHUTDOWN_WAIT_S = 30


def install(app: Litestar, settings: Settings) -> None:
    """Start the scheduler with the app (unless ``FIELDCHECK_JOBS`` is off) and stop it at shutdown."""
    if not settings.jobs.enabled:
        return

    running: set[asyncio.Task] = set()

    async def fire(job: Job) -> None:
        task = asyncio.current_task()
        if task is not None:
            running.add(task)
        try:
            await run_job(job, settings)
        except Exception:  # claiming or recording failed (database away): next tick tries again
            log.exception("job %s could not run", job.name)
        finally:
            running.discard(task)

    async def start() -> None:
        scheduler = AsyncIOScheduler(timezone=dt.UTC)
        for job in JOBS:
            interval = max(1, job.interval_s(settings))
            # Aligned on fixed instants so every replica fires the same ticks (see server.jobs.runner).
            trigger = IntervalTrigger(seconds=interval, start_date=_EPOCH, timezone=dt.UTC)
            scheduler.add_job(
                fire, trigger, args=[job], id=job.name, max_instances=1, coalesce=True, misfire_grace_time=interval
            )
        scheduler.start()
        app.state.scheduler = scheduler

    async def stop() -> None:
        scheduler = getattr(app.state, "scheduler", None)
        if scheduler is None:
            return
        scheduler.pause()  # no new runs; the executor's shutdown would cancel the ones in progress
        if running:  # so let them record their outcome before the database closes
            await asyncio.wait(set(running), timeout=SHUTDOWN_WAIT_S)
        scheduler.shutdown(wait=False)

    app.on_startup.append(start)
    app.on_shutdown.append(stop)
