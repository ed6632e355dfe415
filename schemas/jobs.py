"""Wire types of the scheduled jobs an administrator watches (``/api/v1/jobs``)."""

from __future__ import annotations

import datetime as dt
import uuid

from schemas.base import Struct


class JobRun(Struct, kw_only=True):
    """One run: when, where, how it ended and how many items it touched."""

    id: uuid.UUID
    job: str
    tick: dt.datetime
    started_at: dt.datetime
    finished_at: dt.datetime | None
    outcome: str  # running | ok | partial (some items failed, retried next run) | failed
    items: int
    message: str
    host: str
    requested_by: str | None  # the administrator who asked for it; None for a scheduled run


class Job(Struct, kw_only=True):
    """A scheduled job, its interval and its last run."""

    name: str
    title: str
    interval_s: int
    runs_here: bool  # False when it needs PostgreSQL and this is the embedded default
    last_run: JobRun | None
