"""Both object stores, each on a real backend: a folder, and moto's S3 server over HTTP (root ``s3_endpoint``)."""

from __future__ import annotations

import uuid

import pytest

from storage.filesystem import FilesystemStore
from storage.minio import MinioStore


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
