"""Reuses the registry's SQLite app fixture for the embedded-mode checklist test."""

from tests.server.registry.conftest import sqlite_client  # noqa: F401 - a fixture
