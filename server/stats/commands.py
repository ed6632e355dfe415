"""``fieldcheck generate``: load a synthetic city for benchmarks and dashboard demos."""

from __future__ import annotations

import argparse
import asyncio
import sys

from server.commands import command, open_database, settings_from


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--enterprises", type=int, default=20_000, help="企业数 / enterprises (default 20000)")
    parser.add_argument("--inspections", type=int, default=1_000_000, help="检查次数 / inspections (default 1000000)")
    parser.add_argument("--items", type=int, default=5, help="每次检查的检查项数 / item results per inspection (default 5)")
    parser.add_argument("--years", type=int, default=5, help="覆盖年数（截至今天）/ years of history (default 5)")
    parser.add_argument("--seed", type=int, default=20231, help="随机种子 / seed (default 20231)")
    parser.add_argument("--password", default="fieldcheck-demo", help="合成账号的密码 / password of the generated accounts")
    parser.add_argument("--append", action="store_true", help="数据库已有检查记录时仍追加 / load into a database that has inspections")
    parser.add_argument("--quiet", action="store_true", help="不显示进度条 / no progress bar")


@command("generate", "生成大规模合成数据（基准测试用）/ build a synthetic city at scale", arguments=_arguments)
def generate(args: argparse.Namespace) -> int:
    from server import database
    from server.accounts.service import hash_password
    from server.stats import generate as generator
    from server.stats import rollup as stats_rollup

    settings = settings_from(args)
    if not settings.database.is_postgres:
        print("fieldcheck generate: 需要 PostgreSQL（设置 DATABASE_URL）/ PostgreSQL required", file=sys.stderr)
        return 2
    if min(args.enterprises, args.inspections, args.items, args.years) < 1 or args.items > 20 or len(args.password) < 8:
        print("fieldcheck generate: --enterprises/--inspections/--years ≥ 1, 1 ≤ --items ≤ 20, --password ≥ 8 chars", file=sys.stderr)
        return 2

    async def run() -> int:
        async with open_database(settings):
            engine = database.get_engine()
            conn = await engine.get_new_connection()  # type: ignore[attr-defined]
            try:
                if not args.append and await conn.fetchval("SELECT EXISTS (SELECT 1 FROM inspection)"):
                    print("fieldcheck generate: 数据库中已有检查记录；确认追加请加 --append", file=sys.stderr)
                    return 1
                plan = generator.Plan(
                    enterprises=args.enterprises, inspections=args.inspections,
                    items_per_inspection=args.items, years=args.years, seed=args.seed,
                )
                report = await generator.generate(
                    conn, plan, password_hash=await hash_password(args.password),
                    progress=not args.quiet, rebuild=stats_rollup.rebuild,
                )
            finally:
                await conn.close()
        print(report.summary())
        print(f"领导账号：g{args.seed}-leader（密码见 --password），驾驶舱：/dashboard")
        return 0

    return asyncio.run(run())
