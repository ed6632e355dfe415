"""Both object stores, each on a real backend: a folder, and moto's S3 server over HTTP."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from moto.server import ThreadedMotoServer

from storage.filesystem import FilesystemStore
from storage.minio import MinioStore


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """``host:port`` of a moto S3 server running in this process."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server._server.server_address[:2]  # noqa: SLF001 - moto exposes no public accessor
    yield f"{host}:{port}"
    server.stop()


@pytest.fixture
async def minio_store(s3_endpoint: str) -> MinioStore:
    """A fresh object-lock bucket per test, so tests never see each other's objects."""
    store = MinioStore(
        s3_endpoint,
        access_key="test",
        secret_key="test",
        bucket=f"ev-{uuid.uuid4().hex[:12]}",
        object_lock=True,
        retention_days=1,
    )
    await store.ensure_bucket()
    return store


@pytest.fixture
def filesystem_store(tmp_path) -> FilesystemStore:  # type: ignore[no-untyped-def]
    return FilesystemStore(tmp_path / "objects")


@pytest.fixture(params=["filesystem", "minio"])
def store(request):  # type: ignore[no-untyped-def]
    """Each backend in turn; the contract tests run once per backend."""
    return request.getfixturevalue(f"{request.param}_store")
