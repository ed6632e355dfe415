"""``fieldcheck evidence-gc`` run as a process on the embedded default (SQLite + files)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from storage import keys
from storage.filesystem import FilesystemStore

ROOT = Path(__file__).resolve().parents[3]


async def test_evidence_gc_command_removes_staging_left_by_a_crash_and_keeps_retained_originals(tmp_path: Path) -> None:
    store = FilesystemStore(tmp_path / "objects")
    leftover = keys.staging_key("f" * 32)
    original = keys.blob_key("0" * 64)
    await store.put(leftover, b"half an upload", content_type="image/jpeg")
    await store.put(original, b"retained", content_type="image/jpeg", lock=True)
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "S3_ENDPOINT")}
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "server.cli", "evidence-gc", "--data-dir", str(tmp_path), "--older-than-s", "0"],
        capture_output=True, text=True, timeout=120, env=env, cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    assert "removed_staging=1" in result.stdout and "kept_locked_orphans=1" in result.stdout
    assert [info.key async for info in store.list(keys.STAGING_PREFIX)] == []
    assert await store.get(original) == b"retained"
