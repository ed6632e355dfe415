"""``fieldcheck verify-audit`` and ``fieldcheck checkpoint-audit``: the chain, checked against the store's signed heads."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable

from server import localtime
from server.audit import service as audit_service
from server.commands import command, open_database, settings_from
from server.object_store import build_store
from server.settings import Settings
from storage.base import ObjectStore


def _run_on_chain(
    args: argparse.Namespace,
    action: str,
    step: Callable[[ObjectStore, str], Awaitable[audit_service.VerifyReport]],
    success: Callable[[audit_service.VerifyReport, Settings], str],
) -> int:
    """Run ``step(store, audit key)`` on the configured database and store; print the outcome, return the exit code."""

    async def run() -> tuple[audit_service.VerifyReport, Settings]:
        settings = settings_from(args).with_secrets()
        store = build_store(settings)
        if hasattr(store, "ensure_bucket"):
            await store.ensure_bucket()
        async with open_database(settings, migrate=False):
            return await step(store, settings.audit.checkpoint_key), settings

    try:
        report, settings = asyncio.run(run())
    except Exception as exc:  # an unreachable database or store, or a missing key, is a failure reported plainly
        print(f"ERROR: cannot {action}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    if not report.ok:
        print(
            f"BROKEN: seq={report.broken_seq} id={report.broken_id or '-'} reason: {report.reason} "
            f"({report.checked} entries before it are intact)"
        )
        return 1
    print(success(report, settings))
    return 0


def _verified(report: audit_service.VerifyReport, settings: Settings) -> str:
    checkpoint = report.checkpoint
    against = (
        # In the bureau's zone (FIELDCHECK_TIMEZONE), as a person reads every other time.
        f"reaches the checkpoint of {checkpoint.at.astimezone(localtime.zone(settings.hazards.timezone)).isoformat(timespec='seconds')} (seq {checkpoint.seq})"
        if checkpoint
        else "no checkpoint yet"
    )
    return f"OK: {report.checked} audit entries, chain intact, {against}"


@command("verify-audit", "校验审计日志哈希链及最近的签名检查点 / verify the audit hash chain and its latest checkpoint")
def verify_audit(args: argparse.Namespace) -> int:
    return _run_on_chain(args, "read the audit log", audit_service.verify, _verified)


@command("checkpoint-audit", "签名记录审计链当前末端（写入对象存储，不可删改）/ sign the audit chain's head into the object store")
def checkpoint_audit(args: argparse.Namespace) -> int:
    def written(report: audit_service.VerifyReport, settings: Settings) -> str:
        assert report.checkpoint is not None  # an intact chain always yields its checkpoint
        return f"OK: checkpoint at seq {report.checkpoint.seq}, hash {report.checkpoint.hash}"

    return _run_on_chain(args, "write an audit checkpoint", audit_service.write_checkpoint, written)
