"""One run of one job: claim its tick, run it, record the outcome.

Every process that runs the scheduler tries each tick; the first to insert
``(job, tick)`` into ``job_run`` runs it and the others skip, so several API
replicas on one PostgreSQL run each job once per tick (on the embedded default
there is one process anyway). Ticks are the interval's multiples since the
epoch, so replicas started at different times agree on them.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import uuid

from server import database, metrics
from server.accounts.policy import SYSTEM, Actor
from server.audit import service as audit_service
from server.jobs.catalogue import Job, JobResult
from server.jobs.tables import JobRun
from server.settings import Settings

log = logging.getLogger(__name__)

HOST = f"{socket.gethostname()}:{os.getpid()}"[:128]


def tick_of(job: Job, settings: Settings, now: dt.datetime) -> dt.datetime:
    """The tick ``now`` falls in: the start of its interval, counted from the epoch."""
    interval = max(1, job.interval_s(settings))
    return dt.datetime.fromtimestamp(int(now.timestamp()) // interval * interval, dt.UTC)


async def run_job(
    job: Job, settings: Settings, *, now: dt.datetime | None = None, requested_by: Actor | None = None
) -> uuid.UUID | None:
    """Run ``job`` for the tick of ``now`` unless another process has; the run's id, or None if skipped.

    A run an administrator asks for gets its own tick (the instant asked), so it
    never takes the place of a scheduled one.
    """
    now = now or dt.datetime.now(dt.UTC)
    if job.postgres_only and not database.is_postgres():
        return None
    tick = now if requested_by is not None else tick_of(job, settings, now)
    run_id = uuid.uuid4()
    async with database.transaction():
        await JobRun.insert(
            JobRun(
                id=run_id, job=job.name, tick=tick, manual=requested_by.username if requested_by else "",
                host=HOST, started_at=dt.datetime.now(dt.UTC), outcome="running",
            )
        ).on_conflict(target=(JobRun.job, JobRun.tick), action="DO NOTHING")
    if not await JobRun.exists().where(JobRun.id == run_id):
        return None  # another process has this tick
    try:
        result = await job.run(settings, now)
    except Exception as exc:  # the scheduler must outlive a failed run; the next tick retries
        log.exception("job %s failed", job.name)
        metrics.JOB_RUNS.labels(job=job.name, outcome="failed").inc()
        await _finish(run_id, job, JobResult(failed=1), "failed", f"{type(exc).__name__}: {exc}"[:2000], requested_by)
        return run_id
    outcome = "partial" if result.failed else "ok"
    metrics.JOB_RUNS.labels(job=job.name, outcome=outcome).inc()
    if result.failed:
        log.warning("job %s: %d item(s) failed and were left for the next run", job.name, result.failed)
    await _finish(run_id, job, result, outcome, result.note, requested_by)
    return run_id


async def _finish(
    run_id: uuid.UUID, job: Job, result: JobResult, outcome: str, message: str, requested_by: Actor | None
) -> None:
    async with database.transaction():
        await JobRun.update(
            {
                JobRun.finished_at: dt.datetime.now(dt.UTC), JobRun.outcome: outcome,
                JobRun.items: result.items, JobRun.message: message,
            }
        ).where(JobRun.id == run_id)
        if result.items or result.failed or requested_by is not None:
            audit_service.record(
                requested_by or SYSTEM, "job.run", "job_run", run_id,
                {"job": job.name, "outcome": outcome, "items": result.items, "failed": result.failed},
            )
