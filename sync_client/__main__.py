"""``python -m sync_client``: try the phone's sync from a terminal.

    python -m sync_client login zhang.san          # asks for the password
    python -m sync_client sync
    python -m sync_client assignments
    python -m sync_client items <inspection id>     # the checklist and what is recorded
    python -m sync_client start <inspection id>
    python -m sync_client record <inspection id> <item id> --outcome fail --note "消防通道堵塞"
    python -m sync_client submit <inspection id> --summary "…" --signed-by "企业负责人"
    python -m sync_client status
    python -m sync_client records <kind>

``--server`` (or ``FIELDCHECK_SERVER``) is the API address; ``--store`` (or
``FIELDCHECK_STORE``) the local database file, which plays the phone. Times are
printed in the bureau's zone (``FIELDCHECK_TIMEZONE``, Beijing time by default),
as the server counts its deadlines and statistics in it.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import getpass
import json
import os
import sys
import uuid
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from sync_client import SyncClient, SyncError

OUTCOMES = {"pass": "合格", "fail": "不合格", "not_applicable": "不适用"}


def _zone() -> ZoneInfo:
    name = os.environ.get("FIELDCHECK_TIMEZONE") or "Asia/Shanghai"
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise SyncError(f"FIELDCHECK_TIMEZONE 不是有效的时区：{name}") from None


def local_time(value: Any, zone: ZoneInfo | None = None) -> Any:
    """A moment (ISO text with an offset, or a datetime) as the bureau's wall clock; anything else unchanged."""
    moment = value
    if isinstance(value, str) and len(value) >= 19 and value[4:5] == "-" and value[10:11] in ("T", " "):
        try:
            moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    if not isinstance(moment, dt.datetime) or moment.tzinfo is None:
        return value
    return moment.astimezone(zone or _zone()).strftime("%Y-%m-%d %H:%M:%S")


def _local_times(value: Any, zone: ZoneInfo) -> Any:
    if isinstance(value, dict):
        return {k: _local_times(v, zone) for k, v in value.items()}
    if isinstance(value, list):
        return [_local_times(v, zone) for v in value]
    return local_time(value, zone)


def _print(value: Any) -> None:
    shown = _local_times(msgspec.to_builtins(value), _zone())
    print(json.dumps(shown, ensure_ascii=False, indent=2, default=str))


async def _run(args: argparse.Namespace) -> int:
    async with SyncClient(args.server, args.store) as client:
        if args.command == "login":
            password = args.password or getpass.getpass("密码 / password: ")
            user = await client.login(args.username, password)
            print(f"已登录：{user.get('display_name', '')}（{user.get('username', '')}），设备 {client.device_id}")
        elif args.command == "sync":
            report = await client.sync()
            print(f"上传 {report.pushed} 条，下载 {report.pulled} 条变更，被拒 {report.rejected}，冲突 {report.conflicts}"
                  + ("" if report.complete else f"；未完成：{report.error}"))
            return 0 if report.complete else 1
        elif args.command == "assignments":
            enterprises = {r["id"]: r for r in await client.records("enterprise")}
            for job in await client.assignments():
                name = enterprises.get(job["enterprise_id"], {}).get("name", job["enterprise_id"])
                print(f"{job['id']}  {job['status']:<12} {job.get('planned_date') or '':<10}  {name}")
        elif args.command == "items":
            inspection = next((r for r in await client.records("inspection") if r["id"] == args.inspection), None)
            if inspection is None:
                print("本机没有这项检查，请先同步", file=sys.stderr)
                return 1
            template = next((t for t in await client.records("checklist_template")
                             if t["id"] == inspection.get("template_id")), {})
            items = template.get("items", [])
            results = {r["item_id"]: r for r in await client.records("item_result") if r["inspection_id"] == args.inspection}
            for item in sorted(items, key=lambda i: i.get("position", 0)):
                result = results.get(item["id"], {})
                print(f"{item['id']}  {OUTCOMES.get(result.get('outcome'), '未查'):<4} {item.get('text', '')}")
            if not items:
                _print(list(results.values()))
        elif args.command == "start":
            print(await client.start_inspection(uuid.UUID(args.inspection)))
        elif args.command == "record":
            kwargs: dict[str, Any] = {}
            if args.outcome:
                kwargs["outcome"] = args.outcome
            if args.note is not None:
                kwargs["note"] = args.note
            print(await client.record_item_result(uuid.UUID(args.inspection), uuid.UUID(args.item), **kwargs))
        elif args.command == "submit":
            await client.submit_inspection(uuid.UUID(args.inspection), summary=args.summary, signed_by_name=args.signed_by)
            print("已签字提交（待同步）")
        elif args.command == "status":
            status = await client.status()
            print(f"待上传 {status.pending_mutations} 条记录、{status.pending_uploads} 个文件；"
                  f"上次同步 {local_time(status.last_sync_at) if status.last_sync_at else '从未'}；{'需要重新登录；' if status.auth_required else ''}"
                  f"{'全部已同步' if status.all_synced else '尚未全部同步'}")
            if status.last_error:
                print(f"最近错误：{status.last_error}")
            for outcome in status.errors:
                label = "被拒" if outcome.outcome == "rejected" else "冲突"
                print(f"  #{outcome.seq} {outcome.kind} {label} [{outcome.code}] {outcome.message}"
                      + (f"（字段 {outcome.field}）" if outcome.field else ""))
        elif args.command == "records":
            _print(await client.records(args.kind))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sync_client", description="fieldcheck 离线同步命令行")
    parser.add_argument("--server", default=os.environ.get("FIELDCHECK_SERVER", "http://127.0.0.1:8000"))
    parser.add_argument("--store", type=Path,
                        default=Path(os.environ.get("FIELDCHECK_STORE", Path.home() / ".fieldcheck" / "phone.sqlite3")))
    commands = parser.add_subparsers(dest="command", required=True)
    login = commands.add_parser("login", help="登录并登记本设备")
    login.add_argument("username")
    login.add_argument("--password", help="省略则提示输入")
    commands.add_parser("sync", help="上传本机记录并下载变更")
    commands.add_parser("assignments", help="我的检查任务")
    items = commands.add_parser("items", help="一项检查的检查表与已记录结果")
    items.add_argument("inspection")
    start = commands.add_parser("start", help="开始检查")
    start.add_argument("inspection")
    record = commands.add_parser("record", help="记录一个检查项")
    record.add_argument("inspection")
    record.add_argument("item")
    record.add_argument("--outcome", choices=sorted(OUTCOMES))
    record.add_argument("--note")
    submit = commands.add_parser("submit", help="签字提交")
    submit.add_argument("inspection")
    submit.add_argument("--summary", default="")
    submit.add_argument("--signed-by", default="")
    commands.add_parser("status", help="同步状态、被拒与冲突的记录")
    records = commands.add_parser("records", help="查看本机副本中的某类记录")
    records.add_argument("kind")
    args = parser.parse_args(argv)
    try:
        return asyncio.run(_run(args))
    except SyncError as exc:
        print(f"失败：{exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
