"""Job runs: one row per job per tick, claimed by the first process to insert it."""

from piccolo.columns import UUID, Integer, Text, Timestamptz, Varchar
from piccolo.table import Table


class JobRun(Table, tablename="job_run"):
    """One run of a scheduled job; ``(job, tick)`` is unique (migration m0011), so each tick runs once."""

    id = UUID(primary_key=True)
    job = Varchar(length=32, index=True)
    tick = Timestamptz()
    manual = Varchar(length=64, default="")  # username of the admin who asked for it, else empty
    host = Varchar(length=128, default="")
    started_at = Timestamptz()
    finished_at = Timestamptz(null=True, default=None)
    outcome = Varchar(length=16, default="running")
    items = Integer(default=0)
    message = Text(default="")
