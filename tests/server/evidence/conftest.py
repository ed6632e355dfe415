"""Evidence fixtures: the app on each object store (files, and moto's S3 over HTTP), a team, a phone, uploads."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import msgspec
import pytest
from litestar import Litestar

from schemas import evidence as ev
from schemas import sync as wire
from server.settings import JobSettings, Settings, StorageSettings
from tests.conftest import make_settings
from tests.server.sync.conftest import Phone, Team, make_phone, team  # noqa: F401 - fixture re-export

from . import images


#: moto checks no signatures; production refuses a weak S3_SECRET_KEY, so the S3 app carries a strong one.
S3_TEST_SECRET = "moto-accepts-any-key-" + "0123456789abcdefghijklmnop"


async def make_s3_app(app: Litestar, pg_url: str, s3_endpoint: str, data_dir) -> Litestar:
    """An app with its evidence in a new moto S3 bucket with object lock, on the session's database.

    The database is already started by the root ``app`` (one engine per process), so this app
    is not run through its own lifespan; only its start-up hooks (creating the bucket) run here.
    """
    from server.app import create_app

    storage = StorageSettings(
        endpoint=s3_endpoint,
        access_key="testing",
        secret_key=S3_TEST_SECRET,
        bucket=f"evidence-{uuid.uuid4().hex[:8]}",
        object_lock=True,
        retention_days=1,
    )
    # Its start-up hooks run, but not its scheduler: jobs at work during other tests would change what they read.
    settings = make_settings(data_dir, database_url=pg_url, storage=storage, jobs=JobSettings(enabled=False))
    application = create_app(settings)
    for hook in application.on_startup:
        await hook()
    return application


@pytest.fixture(scope="session")
async def s3_app(app: Litestar, pg_url: str, s3_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Litestar:
    """The session's S3 app (see :func:`make_s3_app`), shared by the tests that only read and write evidence."""
    return await make_s3_app(app, pg_url, s3_endpoint, tmp_path_factory.mktemp("s3-app"))


@dataclasses.dataclass
class Env:
    """One backend under test: the app, an HTTP client on it, and its store."""

    name: str
    app: Litestar
    client: httpx.AsyncClient
    #: Blob keys earlier tests left in the session's store (retained, so they cannot be removed).
    baseline: frozenset[str] = frozenset()

    @property
    def store(self) -> Any:
        return self.app.state.evidence_store

    @property
    def settings(self) -> Settings:
        return self.app.state.settings

    async def blob_keys(self) -> list[str]:
        """Blob keys written by this test."""
        return sorted({info.key async for info in self.store.list("blobs/")} - self.baseline)

    async def started(self) -> Env:
        self.baseline = frozenset([info.key async for info in self.store.list("blobs/")])
        return self


@pytest.fixture(params=["filesystem", "minio"])
async def env(
    request: pytest.FixtureRequest, client: httpx.AsyncClient, app: Litestar, s3_app: Litestar
) -> AsyncIterator[Env]:
    """Each backend in turn, with every table emptied."""
    if request.param == "filesystem":
        yield await Env("filesystem", app, client).started()
        return
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=s3_app), base_url="http://fieldcheck.test") as c:
        yield await Env("minio", s3_app, c).started()


@dataclasses.dataclass
class Field:
    """An inspector's phone on an assigned inspection, talking to one backend."""

    env: Env
    phone: Phone
    inspection_id: uuid.UUID
    team: Team

    async def attach(self, data: bytes, *, sha256: str | None = None, **extra: Any) -> wire.Outcome:
        """Sync an AttachEvidence mutation for ``data`` (``sha256`` overrides the declared hash)."""
        mutation = ev.AttachEvidence(
            seq=self.phone.seq(),
            id=extra.pop("id", uuid.uuid4()),
            inspection_id=extra.pop("inspection_id", self.inspection_id),
            sha256=sha256 or hashlib.sha256(data).hexdigest(),
            size=extra.pop("size", len(data)),
            captured_at=extra.pop("captured_at", dt.datetime(2024, 5, 1, 2, 1, tzinfo=dt.UTC)),
            latitude=extra.pop("latitude", 38.47),
            longitude=extra.pop("longitude", 106.28),
            **extra,
        )
        (outcome,) = await self.phone.push([mutation])
        return outcome

    async def open(self, data: bytes, *, sha256: str | None = None) -> httpx.Response:
        body = {"sha256": sha256 or hashlib.sha256(data).hexdigest(), "size": len(data)}
        return await self.env.client.post("/api/v1/evidence/uploads", json=body, headers=self.phone.headers)

    async def send_part(self, session: dict, data: bytes, number: int, *, chunk_hash: str | None = None,
                        body: bytes | None = None) -> httpx.Response:
        size = session["chunk_bytes"]
        piece = data[(number - 1) * size : number * size]
        headers = {**self.phone.headers, ev.CHUNK_HASH_HEADER: chunk_hash or hashlib.sha256(piece).hexdigest(),
                   "content-type": "application/octet-stream"}
        return await self.env.client.put(
            f"/api/v1/evidence/uploads/{session['id']}/parts/{number}", content=piece if body is None else body,
            headers=headers,
        )

    async def upload(self, data: bytes, *, sha256: str | None = None) -> httpx.Response:
        """Open a session and send every missing chunk; the last response."""
        response = await self.open(data, sha256=sha256)
        assert response.status_code == 200, response.text
        session = response.json()
        for number in range(1, session["part_count"] + 1):
            if session["status"] != "open":
                break
            if number in session.get("received_parts", []):
                continue
            response = await self.send_part(session, data, number)
            if response.status_code != 200:
                return response
            session = response.json()
        return response

    async def evidence(self, evidence_id: uuid.UUID, headers: dict[str, str] | None = None) -> dict:
        response = await self.env.client.get(f"/api/v1/evidence/{evidence_id}", headers=headers or self.phone.headers)
        assert response.status_code == 200, response.text
        return response.json()

    async def download(self, evidence_id: uuid.UUID, headers: dict[str, str] | None = None) -> httpx.Response:
        """The original's bytes, following a presigned redirect to the store as a browser would."""
        response = await self.env.client.get(
            f"/api/v1/evidence/{evidence_id}/content", headers=headers or self.phone.headers
        )
        if response.status_code == 307:
            async with httpx.AsyncClient() as direct:
                return await direct.get(response.headers["location"])
        return response


@pytest.fixture
async def field(env: Env, team: Team) -> Field:  # noqa: F811
    client = env.client
    # The team fixture logged the supervisor in on the root client; log in again on this backend's client.
    from tests.conftest import login, username_of

    team.supervisor = await login(client, await username_of(team.supervisor_id))
    inspection_id = await team.assign(client)
    phone = await make_phone(client, team.inspectors[0])
    return Field(env=env, phone=phone, inspection_id=inspection_id, team=team)


@pytest.fixture(scope="session")
def photo_20mb() -> bytes:
    return images.big_jpeg(20 * 1024 * 1024)


def outcome_of(outcome: wire.Outcome) -> str:
    return msgspec.structs.asdict(outcome).get("code", "applied") if isinstance(outcome, wire.Rejected) else "applied"
