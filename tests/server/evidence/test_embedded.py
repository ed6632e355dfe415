"""The embedded default: SQLite and the filesystem store, end to end (no PostgreSQL, no S3)."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator

import httpx
import pytest

from schemas import sync as wire
from schemas.vocab import Role
from server import database
from server.app import create_app
from storage.filesystem import FilesystemStore
from tests.conftest import login, make_department, make_enterprise, make_settings, make_user, username_of
from tests.server.sync.conftest import Team, make_phone, make_template

from . import images
from .conftest import Env, Field


@pytest.fixture
async def embedded_field(app, tmp_path) -> AsyncIterator[Field]:  # type: ignore[no-untyped-def]
    embedded = create_app(make_settings(tmp_path / "embedded"))
    await database.start(embedded.state.settings)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=embedded), base_url="http://embedded.test") as c:
            department = await make_department()
            supervisor = await make_user(Role.SUPERVISOR, department_id=department)
            inspector = await make_user(Role.INSPECTOR, department_id=department)
            template_id, items = await make_template(2)
            team = Team(department, await login(c, await username_of(supervisor)), supervisor, await make_enterprise(),
                        template_id, items, [inspector])
            inspection = await team.assign(c)
            env = await Env("embedded", embedded, c).started()
            yield Field(env=env, phone=await make_phone(c, inspector), inspection_id=inspection, team=team)
    finally:
        await database.stop()
        database.activate(app.state.engine)


async def test_chunked_and_single_uploads_on_sqlite_and_files(embedded_field: Field) -> None:
    field = embedded_field
    assert isinstance(field.env.store, FilesystemStore)
    big = images.big_jpeg(11 * 1024 * 1024, seed=51)
    small = images.photo(seed=52)
    ids = []
    for data in (big, small):
        outcome = await field.attach(data)
        assert isinstance(outcome, wire.Applied), outcome
        ids.append(outcome.entity_id)
    assert (await field.upload(big)).json()["status"] == "complete"
    response = await field.env.client.put(
        f"/api/v1/evidence/blobs/{hashlib.sha256(small).hexdigest()}", content=small,
        headers={**field.phone.headers, "content-type": "application/octet-stream"},
    )
    assert response.json()["status"] == "complete"
    for evidence_id, data in zip(ids, (big, small), strict=True):
        assert (await field.evidence(evidence_id))["status"] == "stored"
        assert (await field.download(evidence_id)).content == data
    assert len(await field.env.blob_keys()) == 2
