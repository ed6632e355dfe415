"""The registry of ``fieldcheck`` subcommands, and what every command shares (settings, the database).

Domains register their commands here (``server/<domain>/commands.py``) without
importing the command line itself, which composes the whole app:
:mod:`server.cli` imports those modules and builds the parser from
:data:`_COMMANDS`.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from server.settings import Settings


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    run: Callable[[argparse.Namespace], int]
    arguments: Callable[[argparse.ArgumentParser], object] | None = None


_COMMANDS: dict[str, Command] = {}


def _same(one: Callable[..., object], other: Callable[..., object]) -> bool:
    """The same function, or the same source loaded twice (``python -m server.cli`` imports it as ``__main__`` too)."""
    return one is other or (one.__qualname__ == other.__qualname__ and one.__code__.co_filename == other.__code__.co_filename)


def command(
    name: str, help: str, *, arguments: Callable[[argparse.ArgumentParser], object] | None = None
) -> Callable[[Callable[[argparse.Namespace], int]], Callable[[argparse.Namespace], int]]:
    """Register ``run`` as ``fieldcheck <name>``; ``arguments`` adds its options to the subparser."""

    def register(run: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
        if name in _COMMANDS and not _same(_COMMANDS[name].run, run):
            raise ValueError(f"subcommand {name!r} registered twice")
        _COMMANDS[name] = Command(name, help, run, arguments)
        return run

    return register


def settings_from(args: argparse.Namespace) -> Settings:
    """Settings from the environment, with the options every command shares applied on top."""
    settings = Settings.from_env()
    data_dir = getattr(args, "data_dir", None)
    if data_dir is not None:
        settings = dataclasses.replace(settings, server=dataclasses.replace(settings.server, data_dir=Path(data_dir)))
    return settings


@asynccontextmanager
async def open_database(settings: Settings, *, migrate: bool = True) -> AsyncIterator[None]:
    """Connect to the configured database for a command (applying migrations unless ``migrate=False``)."""
    from server import database

    if migrate:
        await database.start(settings)
    else:
        database.configure(settings)
    try:
        yield
    finally:
        await database.stop()
