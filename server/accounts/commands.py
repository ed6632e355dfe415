"""``fieldcheck create-admin``: the first administrator of a bureau that starts without the demo."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys

import msgspec

from schemas import accounts as wire
from schemas.vocab import Role
from server.commands import command, open_database, settings_from
from server.errors import FieldcheckError


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("username", help="管理员用户名 / the administrator's username")
    parser.add_argument("--display-name", default="系统管理员", help="姓名 / name shown (default 系统管理员)")
    parser.add_argument(
        "--password-stdin", action="store_true",
        help="从标准输入读取密码（一行），用于脚本 / read the password as one line from stdin (for scripts)",
    )


def _read_password(from_stdin: bool) -> str | None:
    """The new password: typed twice at a terminal (never echoed), or one line of stdin; never an argument."""
    if from_stdin or not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("新密码 / new password: ")
    if getpass.getpass("再次输入 / again: ") != first:
        print("fieldcheck create-admin: 两次输入的密码不一致 / the passwords differ", file=sys.stderr)
        return None
    return first


@command("create-admin", "新建系统管理员账号（不载入演示数据即可启用系统）/ create an administrator account", arguments=_arguments)
def create_admin(args: argparse.Namespace) -> int:
    from server import database
    from server.accounts import service as accounts_service
    from server.accounts.policy import SYSTEM

    password = _read_password(args.password_stdin)
    if password is None:
        return 2
    try:
        data = msgspec.convert(
            {"username": args.username, "display_name": args.display_name, "password": password, "role": Role.ADMIN},
            wire.UserCreate,
        )
    except msgspec.ValidationError as exc:
        print(f"fieldcheck create-admin: 输入有误 / invalid: {exc}", file=sys.stderr)
        return 2

    async def run() -> wire.User:
        async with open_database(settings_from(args).with_secrets()):
            # The account rules of the API: a weak password is refused, a taken username too; audited as 系统.
            password_hash = await accounts_service.new_password_hash(data.password, data.username)
            async with database.transaction():
                return await accounts_service.create_user(SYSTEM, data, password_hash)

    try:
        user = asyncio.run(run())
    except FieldcheckError as exc:
        print(f"fieldcheck create-admin: {exc.message} / {exc.message_en}", file=sys.stderr)
        return 1
    print(f"已创建管理员 {user.username}（{user.id}）/ administrator created")
    return 0
