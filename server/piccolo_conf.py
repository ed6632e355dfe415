"""Piccolo's configuration module (``PICCOLO_CONF=server.piccolo_conf``).

``DB`` is read by Piccolo (``engine_finder``) each time it looks for the engine: it is
the engine :func:`server.database.activate` made current, or, before any, the engine of
the environment's settings (read here: this module is an entry point of Piccolo's own
command line). The database package never writes here: this module reads it, so the
arrow runs one way.
"""

from __future__ import annotations

from functools import cache

from piccolo.conf.apps import AppRegistry
from piccolo.engine.base import Engine

from server import database
from server.settings import Settings

APP_REGISTRY = AppRegistry(apps=["server.database.piccolo_app"])


@cache
def _environment_engine() -> Engine:
    return database.build_engine(Settings.from_env())


def __getattr__(name: str) -> Engine:
    if name == "DB":
        return database.active_engine() or _environment_engine()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
