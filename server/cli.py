"""The ``fieldcheck`` command line (stdlib argparse).

    fieldcheck serve [--host H] [--port P] [--data-dir D]   run the API (embedded SQLite + files by default)
    fieldcheck demo [--password P]                          load the demo world (idempotent)
    fieldcheck create-admin NAME [--password-stdin]         the first administrator, without the demo
    fieldcheck verify-audit                                 check the audit hash chain and its last checkpoint
    fieldcheck checkpoint-audit                             sign the chain's head into the object store

Settings come from the environment (``server.settings``), as for the server;
``--data-dir`` etc. override single fields.

Adding a subcommand: write a function ``run(args) -> int`` in your domain
(e.g. ``server/spotchecks/commands.py``) and register it at import time::

    from server.commands import command

    @command("verify-draw", "复核一次抽签 / re-run a recorded draw and compare",
             arguments=lambda p: p.add_argument("draw_id"))
    def verify_draw(args: argparse.Namespace) -> int:
        ...

then add the module's name to :data:`COMMAND_MODULES` below (one line).
Commands that touch the database use :func:`open_database` so they run on
the same engine and migrations as the server. The exit code is what ``run``
returns: 0 for success, non-zero for a failure a script should notice.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import sys

from server.commands import _COMMANDS, command, open_database, settings_from  # noqa: F401  (the registry, re-exported)

#: Modules that register subcommands with :func:`command` when imported.
COMMAND_MODULES: list[str] = [
    "server.cli",
    "server.accounts.commands",
    "server.audit.commands",
    "server.evidence.commands",
    "server.hazards.commands",
    "server.jobs.commands",
    "server.spotchecks.commands",
    "server.stats.commands",
]


# --------------------------------------------------------------------- serve


def _serve_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="监听地址 / address (default FIELDCHECK_HOST or 127.0.0.1)")
    parser.add_argument("--port", type=int, help="监听端口 / port (default FIELDCHECK_PORT or 8000)")


@command("serve", "运行 API 服务 / run the API server", arguments=_serve_arguments)
def serve(args: argparse.Namespace) -> int:
    import uvicorn

    from server.app import create_app

    settings = settings_from(args)
    host = args.host or settings.server.host
    port = args.port if args.port is not None else settings.server.port
    mode = "PostgreSQL" if settings.database.is_postgres else f"SQLite in {settings.server.data_dir}"
    print(f"fieldcheck: {mode}; http://{host}:{port}/schema", flush=True)
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info", proxy_headers=False)
    return 0


# --------------------------------------------------------------------- demo


def _demo_arguments(parser: argparse.ArgumentParser) -> None:
    from server.demo import DEFAULT_PASSWORD

    parser.add_argument(
        "--password", default=DEFAULT_PASSWORD, help=f"演示账号的密码 / password of every demo account (default {DEFAULT_PASSWORD})"
    )
    parser.add_argument(
        "--force", action="store_true",
        help="在生产模式（PostgreSQL）下也载入：会建立口令已知的账号 / load even in production mode (known passwords)",
    )


@command("demo", "载入演示数据（可重复执行）/ load the demo world (idempotent)", arguments=_demo_arguments)
def demo(args: argparse.Namespace) -> int:
    from server import demo as demo_world

    if len(args.password) < 8:
        print("fieldcheck demo: --password must be at least 8 characters", file=sys.stderr)
        return 2
    settings = settings_from(args)
    if settings.database.is_postgres and not args.force:
        print(
            "fieldcheck demo: 生产模式（DATABASE_URL 指向 PostgreSQL）不载入演示数据，它会建立口令已知的账号；"
            "确需载入请加 --force / refused in production mode (accounts with a known password); add --force to load anyway",
            file=sys.stderr,
        )
        return 2

    async def load() -> demo_world.DemoReport:
        async with open_database(settings):
            return await demo_world.load(settings.with_secrets(), password=args.password)

    report = asyncio.run(load())
    print(report.summary())
    return 0


# --------------------------------------------------------------------- entry point


def build_parser() -> argparse.ArgumentParser:
    for module in COMMAND_MODULES:
        importlib.import_module(module)
    parser = argparse.ArgumentParser(prog="fieldcheck", description="fieldcheck 安全生产检查执法系统")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for cmd in sorted(_COMMANDS.values(), key=lambda c: c.name):
        sub = subparsers.add_parser(cmd.name, help=cmd.help, description=cmd.help)
        sub.add_argument("--data-dir", help="数据目录 / data folder (default FIELDCHECK_DATA_DIR or ./fieldcheck-data)")
        if cmd.arguments is not None:
            cmd.arguments(sub)
        sub.set_defaults(_run=cmd.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # The app module imports every domain, and with them the hooks each registers with the domains below it
    # (server.hooks: the escalation's enforcement proposals, a task following its check, …): a command runs
    # the same rules as the server. Imported here, not at the top, so ``--help`` stays instant.
    from server import app  # noqa: F401
    return int(args._run(args))


if __name__ == "__main__":
    # Run the imported module's main so commands registered by other modules land in the same table.
    from server.cli import main as _main

    sys.exit(_main())
