"""What an administrator reads about the jobs, and the run they may ask for."""

from __future__ import annotations

from typing import Any

from schemas import jobs as wire
from schemas.vocab import Role
from server import database
from server.accounts.policy import Actor
from server.errors import InvalidInput, NotFound, PermissionDenied
from server.jobs.catalogue import BY_NAME, JOBS
from server.jobs.runner import run_job
from server.jobs.tables import JobRun
from server.settings import Settings

MAX_RUNS = 200


def _require_admin(actor: Actor) -> None:
    if actor.role != Role.ADMIN:
        raise PermissionDenied("只有系统管理员可以查看和运行定时任务", "only administrators see and run jobs")


def _run(row: dict[str, Any]) -> wire.JobRun:
    return wire.JobRun(
        id=row["id"], job=row["job"], tick=row["tick"], started_at=row["started_at"], finished_at=row["finished_at"],
        outcome=row["outcome"], items=row["items"], message=row["message"], host=row["host"],
        requested_by=row["manual"] or None,
    )


async def list_jobs(actor: Actor, settings: Settings) -> list[wire.Job]:
    _require_admin(actor)
    out = []
    for job in JOBS:
        last = await JobRun.select().where(JobRun.job == job.name).order_by(JobRun.started_at, ascending=False).first()
        out.append(
            wire.Job(
                name=job.name, title=job.title, interval_s=job.interval_s(settings),
                runs_here=not job.postgres_only or database.is_postgres(), last_run=_run(last) if last else None,
            )
        )
    return out


async def list_runs(actor: Actor, *, job: str | None, limit: int) -> list[wire.JobRun]:
    _require_admin(actor)
    if job is not None and job not in BY_NAME:
        raise NotFound("没有这个定时任务", f"no job named {job!r}")
    if not 1 <= limit <= MAX_RUNS:
        raise InvalidInput(f"limit 须在 1–{MAX_RUNS} 之间", f"limit must be 1..{MAX_RUNS}", field="limit")
    query = JobRun.select().order_by(JobRun.started_at, ascending=False).limit(limit)
    if job is not None:
        query = query.where(JobRun.job == job)
    return [_run(r) for r in await query]


async def run_now(actor: Actor, name: str, settings: Settings) -> wire.JobRun:
    """Run a job at once for an administrator (e.g. after fixing the item that failed)."""
    _require_admin(actor)
    job = BY_NAME.get(name)
    if job is None:
        raise NotFound("没有这个定时任务", f"no job named {name!r}")
    if job.postgres_only and not database.is_postgres():
        raise InvalidInput("此任务仅在 PostgreSQL 部署中运行", f"{name} runs only on PostgreSQL", field="name")
    run_id = await run_job(job, settings, requested_by=actor)
    row = await JobRun.select().where(JobRun.id == run_id).first()
    return _run(row)
