"""The scheduled jobs: what each one does and how often, one unit of work per item it touches.

A job is a function ``run(settings, now) -> JobResult``. It must be safe to run
again (every one below is idempotent) and must isolate its items: one bad
hazard or task is counted as failed and logged, and the others go on.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from server import database
from server.object_store import build_store
from server.context import Context, FixedClock
from server.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class JobResult:
    """What one run did: items changed, items that failed (each logged), and a line for the admin."""

    items: int = 0
    failed: int = 0
    note: str = ""


@dataclass(frozen=True)
class Job:
    name: str
    title: str  # what an administrator reads
    interval_s: Callable[[Settings], int]
    run: Callable[[Settings, dt.datetime], Awaitable[JobResult]]
    postgres_only: bool = False


async def _release_covert(settings: Settings, now: dt.datetime) -> JobResult:
    from server.spotchecks import release as spotcheck_release

    released, failed = await spotcheck_release.release_due_tasks_counted(Context(settings, FixedClock(now)))
    return JobResult(items=released, failed=failed, note=f"发布暗访任务 {released} 项")


async def _escalate(settings: Settings, now: dt.datetime) -> JobResult:
    from server.hazards import escalation as hazard_escalation

    result = JobResult()
    steps = rechecks = 0
    for hazard_id in await hazard_escalation.overdue_hazards(settings, now=now):
        try:
            async with database.transaction():
                done = await hazard_escalation.escalate_one(hazard_id, settings, now=now)
        except Exception:  # one hazard must not stop the others; it is retried next run
            log.exception("escalation of hazard %s failed; left for the next run", hazard_id)
            result.failed += 1
            continue
        steps += done.escalations
        rechecks += done.rechecks_created
        result.items += 1 if done.escalations or done.rechecks_created else 0
    result.note = f"升级 {steps} 级次，新建到期复查 {rechecks} 项"
    return result


async def _collect_evidence_garbage(settings: Settings, now: dt.datetime) -> JobResult:
    from server.evidence import service as evidence_service

    store = build_store(settings)
    async with database.transaction():
        report = await evidence_service.collect_garbage(
            store, older_than=dt.timedelta(seconds=settings.evidence.gc_after_s), now=now
        )
    removed = report.expired_sessions + report.aborted_uploads + report.removed_staging + report.removed_blobs
    return JobResult(items=removed, note=f"过期上传 {report.expired_sessions}，清除无引用文件 {report.removed_blobs}")


async def _refresh_statistics(settings: Settings, now: dt.datetime) -> JobResult:
    from server.stats import rollup as stats_rollup

    failed = await stats_rollup.refresh()  # the months whose recount failed (logged, kept queued)
    names = "、".join("全部" if m is None else f"{m:%Y-%m}" for m in sorted(failed, key=lambda m: m or dt.date.min))
    return JobResult(failed=len(failed), note=f"重算失败：{names}" if failed else "已刷新")


async def _remind(settings: Settings, now: dt.datetime) -> JobResult:
    from server.enforcement import reminders as transfer_reminders
    from server.hazards import reminders as hazard_reminders

    hazards_made, hazards_failed = await hazard_reminders.remind_deadlines(settings, now=now)
    transfers_made, transfers_failed = await transfer_reminders.remind_transfer_clocks(settings, now=now)
    return JobResult(
        items=hazards_made + transfers_made, failed=hazards_failed + transfers_failed,
        note=f"新提醒 {hazards_made + transfers_made} 条（整改期限 {hazards_made}，行刑衔接 {transfers_made}）",
    )


async def _send_webhook(settings: Settings, now: dt.datetime) -> JobResult:
    from server.notifications import webhook

    run = await webhook.deliver_due(settings, now=now)
    return JobResult(
        items=run.delivered, failed=run.given_up, note=f"送达 {run.delivered}，待重试 {run.retried}，放弃 {run.given_up}"
    )


async def _checkpoint_audit(settings: Settings, now: dt.datetime) -> JobResult:
    from server.audit import service as audit_service

    report = await audit_service.write_checkpoint(build_store(settings), settings.audit.checkpoint_key)
    if not report.ok:
        raise RuntimeError(f"审计链与上一检查点不符，未签署 / chain does not extend its checkpoint: seq={report.broken_seq} {report.reason}")
    head = report.checkpoint.seq if report.checkpoint else 0
    return JobResult(note=f"检查点 seq={head}")  # not an item changed: no audit entry of its own


JOBS: tuple[Job, ...] = (
    Job("covert-release", "到期暗访任务发布", lambda s: s.jobs.covert_release_s, _release_covert),
    Job("escalate-overdue", "逾期隐患升级与到期复查", lambda s: s.jobs.escalation_s, _escalate),
    Job("evidence-gc", "清理过期上传与无引用文件", lambda s: s.jobs.evidence_gc_s, _collect_evidence_garbage),
    Job("stats-refresh", "统计汇总刷新", lambda s: s.jobs.stats_refresh_s, _refresh_statistics),
    Job("reminders", "整改期限与行刑衔接提醒", lambda s: s.jobs.reminders_s, _remind),
    Job("notify-webhook", "通知外部推送", lambda s: s.jobs.webhook_s, _send_webhook),
    Job("audit-checkpoint", "审计链检查点签署", lambda s: s.jobs.audit_checkpoint_s, _checkpoint_audit),
)

BY_NAME = {job.name: job for job in JOBS}
