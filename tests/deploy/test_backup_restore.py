"""The backup service's round and the documented restore, end to end on real PostgreSQL and an S3 server.

Evidence and audit entries are made through the API (a phone syncs a photo, the supervisor works); the
backup runs as the service does (``python -m deploy.backup --once``), the restore as README says
(``python -m deploy.restore database`` / ``objects`` into a new database and bucket), and
``fieldcheck verify-audit`` then has to pass against the restored copy, reaching the signed checkpoint.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import asyncpg
import httpx
import pytest
from litestar import Litestar

from deploy.backup import RETRY_AFTER_S, next_wait, within_chain
from server.audit import service as audit_service
from storage import keys
from storage.minio import MinioStore
from tests.conftest import create_database, drop_database
from tests.server.evidence import images
from tests.server.evidence.conftest import Env, Field, field, make_s3_app  # noqa: F401 - fixture re-export
from tests.server.sync.conftest import team  # noqa: F401 - fixture re-export

ROOT = Path(__file__).resolve().parents[2]
FIELDCHECK = shutil.which("fieldcheck", path=str(Path(sys.executable).parent)) or "fieldcheck"
# moto checks no signatures, so the processes below carry a secret production accepts.
STRONG_S3_SECRET = secrets.token_urlsafe(48)


@pytest.fixture
async def env(client: httpx.AsyncClient, app: Litestar, pg_url: str, s3_endpoint: str, tmp_path: Path) -> Env:
    """Only the S3 backend, the deployment's store, in a bucket of its own.

    The session's bucket may already hold an audit checkpoint signed by an earlier test (whose chain the
    ``client`` fixture has since emptied); this test's chain starts from nothing and so needs a store that does too.
    """
    s3_app = await make_s3_app(app, pg_url, s3_endpoint, tmp_path / "s3-app")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=s3_app), base_url="http://fieldcheck.test") as c:
        yield await Env("minio", s3_app, c).started()


@pytest.fixture
async def fresh_database() -> str:
    url = await create_database("fieldcheck_restore")
    yield url
    await drop_database(url)


def _process_env(settings, database_url: str, bucket: str) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("FIELDCHECK_", "DATABASE_", "S3_", "BACKUP_"))}
    storage = settings.storage
    return {
        **keep,
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": database_url,
        "S3_ENDPOINT": storage.endpoint,
        "S3_ACCESS_KEY": storage.access_key,
        "S3_SECRET_KEY": STRONG_S3_SECRET,
        "S3_BUCKET": bucket,
        "S3_OBJECT_LOCK": "true",
        "S3_RETENTION_DAYS": "1",
        "FIELDCHECK_SECRET_KEY": settings.auth.secret_key,
        "FIELDCHECK_ID_HASH_KEY": settings.privacy.id_hash_key,
        "FIELDCHECK_AUDIT_KEY": settings.audit.checkpoint_key,
    }


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)


async def _table_counts(url: str) -> dict[str, int]:
    connection = await asyncpg.connect(url)
    try:
        names = [r["tablename"] for r in await connection.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
        return {name: await connection.fetchval(f'SELECT count(*) FROM "{name}"') for name in names}
    finally:
        await connection.close()


async def test_a_backup_round_restored_into_a_new_database_and_bucket_passes_verify_audit(
    field: Field, pg_url: str, fresh_database: str, tmp_path: Path
) -> None:
    settings = field.env.settings
    bucket = settings.storage.bucket
    # A photo synced and uploaded by the phone: a retained original and its thumbnail in the bucket.
    photo = images.photo(seed=16)
    from tests.server.evidence.test_uploads import _applied

    evidence_id = _applied(await field.attach(photo))
    assert (await field.upload(photo)).status_code == 200
    assert (await field.evidence(evidence_id))["status"] == "stored"
    # The chain's head signed into the store, then more audited work after it.
    source_env = _process_env(settings, pg_url, bucket)
    signed = await asyncio.to_thread(_run, [FIELDCHECK, "checkpoint-audit"], source_env)
    assert signed.returncode == 0, signed.stdout + signed.stderr
    second = images.photo(seed=17)
    _applied(await field.attach(second))
    assert (await field.upload(second)).status_code == 200

    backups = tmp_path / "backups"
    backed = await asyncio.to_thread(_run, [sys.executable, "-m", "deploy.backup", "--once", "--dir", str(backups)], source_env)
    assert backed.returncode == 0, backed.stdout + backed.stderr
    (dump,) = sorted((backups / "db").glob("fieldcheck-*.dump"))
    note = json.loads(dump.with_suffix(".json").read_text())
    original = await _table_counts(pg_url)
    assert note["audit_seq"] == original["audit_entry"] > 0
    mirrored = {p.relative_to(backups / "objects").as_posix() for p in (backups / "objects").rglob("*") if p.is_file()}
    blob = keys.blob_key(hashlib.sha256(photo).hexdigest())
    assert blob in mirrored and any(k.startswith(keys.AUDIT_CHECKPOINT_PREFIX) for k in mirrored)
    # A second round copies nothing new: the mirror is incremental.
    again = await asyncio.to_thread(_run, [sys.executable, "-m", "deploy.backup", "--once", "--dir", str(backups)], source_env)
    assert again.returncode == 0 and "0 copied" in again.stdout, again.stdout + again.stderr

    # The documented restore, into a new database and a new bucket.
    restored_bucket = f"restored-{uuid.uuid4().hex[:8]}"
    target_env = _process_env(settings, fresh_database, restored_bucket)
    into_db = await asyncio.to_thread(_run, [sys.executable, "-m", "deploy.restore", "database", str(dump)], target_env)
    assert into_db.returncode == 0, into_db.stdout + into_db.stderr
    into_store = await asyncio.to_thread(
        _run, [sys.executable, "-m", "deploy.restore", "objects", str(backups / "objects")], target_env
    )
    assert into_store.returncode == 0, into_store.stdout + into_store.stderr

    verified = await asyncio.to_thread(_run, [FIELDCHECK, "verify-audit"], target_env)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert verified.stdout.startswith("OK") and f"{original['audit_entry']} audit entries" in verified.stdout
    assert "reaches the checkpoint" in verified.stdout
    assert await _table_counts(fresh_database) == original

    restored = MinioStore(settings.storage.endpoint, access_key="testing", secret_key=STRONG_S3_SECRET, bucket=restored_bucket,
                          object_lock=True, retention_days=1)
    assert hashlib.sha256(await restored.get(blob)).hexdigest() == hashlib.sha256(photo).hexdigest()
    assert (await restored.stat(blob)).locked  # the original is retained again after the restore
    # The restored copy is the same chain: verify in-process against it gives the same head.
    report = await audit_service.verify()
    assert report.ok and report.checked == original["audit_entry"]


async def test_restore_refuses_a_database_that_already_has_tables(client, settings, pg_url: str, tmp_path: Path) -> None:
    dump = tmp_path / "any.dump"
    dump.write_bytes(b"PGDMP")
    env = _process_env(settings, pg_url, "unused")
    refused = await asyncio.to_thread(_run, [sys.executable, "-m", "deploy.restore", "database", str(dump)], env)
    assert refused.returncode == 1 and "not empty" in refused.stderr, refused.stdout + refused.stderr


def test_checkpoints_beyond_the_dumps_chain_wait_for_the_next_round() -> None:
    keep = within_chain(5)
    assert keep(keys.audit_checkpoint_key(5)) and keep(keys.audit_checkpoint_key(0))
    assert not keep(keys.audit_checkpoint_key(6))
    assert keep(keys.blob_key("a" * 64))


def test_a_failed_round_is_reported_and_tried_again_soon(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FIELDCHECK_", "DATABASE_", "S3_", "BACKUP_"))}
    env.update(PYTHONPATH=str(ROOT), DATABASE_URL="postgresql://nobody@127.0.0.1:1/none")  # nothing listens on port 1
    failed = _run([sys.executable, "-m", "deploy.backup", "--once", "--dir", str(tmp_path)], env)
    assert failed.returncode == 1 and "backup: FAILED" in failed.stderr, failed.stdout + failed.stderr
    assert not list(tmp_path.rglob("*.dump")) and not list(tmp_path.rglob("*.partial"))
    assert next_wait(86_400, failed=True) == RETRY_AFTER_S < next_wait(86_400, failed=False) == 86_400
    assert next_wait(120, failed=True) == 120
