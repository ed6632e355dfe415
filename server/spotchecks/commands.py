"""``fieldcheck verify-draw <draw id>``: re-run a recorded draw and compare it with what is stored."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import uuid

from server.commands import command, open_database, settings_from


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("draw_id", help="抽取记录编号 / id of the recorded draw")
    parser.add_argument("--json", action="store_true", help="输出 JSON / print the report as JSON")


@command("verify-draw", "复核一次抽签 / re-run a recorded draw and compare", arguments=_arguments)
def verify_draw(args: argparse.Namespace) -> int:
    import msgspec

    from server.errors import NotFound
    from server.spotchecks import verification

    try:
        draw_id = uuid.UUID(args.draw_id)
    except ValueError:
        print(f"ERROR: not a draw id: {args.draw_id!r}", file=sys.stderr)
        return 2

    async def run() -> object:
        async with open_database(settings_from(args), migrate=False):
            return await verification.verify_draw(None, draw_id)

    try:
        report = asyncio.run(run())
    except NotFound:
        print(f"ERROR: no draw {draw_id}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(msgspec.to_builtins(report), ensure_ascii=False, indent=2))
        return 0 if report.ok else 1
    for check in report.checks:
        print(f"{'ok  ' if check.ok else 'FAIL'} {check.name}" + (f": {check.detail}" if check.detail else ""))
    for diff in report.differences:
        print(f"DIFF {diff.path}: stored={diff.stored!r} recomputed={diff.recomputed!r}")
    if report.ok:
        print(f"OK: draw {draw_id} ({report.algorithm_version}) reproduces exactly from its recorded inputs")
        return 0
    print(f"MISMATCH: draw {draw_id}: {sum(not c.ok for c in report.checks)} failed checks, "
          f"{len(report.differences)} differences")
    return 1
