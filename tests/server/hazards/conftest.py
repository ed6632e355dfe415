"""Fixtures of the closed-loop tests (shared with the violations and enforcement tests)."""

from __future__ import annotations

import httpx
import pytest

from tests.server.hazards.factories import World, make_world


@pytest.fixture
async def world(client: httpx.AsyncClient) -> World:
    return await make_world(client)
