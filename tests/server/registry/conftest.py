"""An app on the embedded SQLite default, for the registry behaviour that differs by engine (LIKE vs ILIKE)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from server import database
from server.app import create_app
from tests.conftest import make_settings


@pytest.fixture
async def sqlite_client(app, tmp_path) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on a fresh SQLite app; the PostgreSQL engine is restored afterwards."""
    embedded = create_app(make_settings(tmp_path / "embedded"))
    await database.start(embedded.state.settings)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=embedded), base_url="http://embedded.test") as client:
            yield client
    finally:
        await database.stop()
        database.activate(app.state.engine)
