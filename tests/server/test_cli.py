"""The real ``fieldcheck`` command as a subprocess: serve on a fresh data folder, verify-audit, demo."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from schemas.identifiers import is_valid_credit_code
from schemas.vocab import Role
from server import database, demo
from server.inspections.tables import Inspection, InspectionInspector
from server.accounts.tables import Department, User
from server.audit import service as audit_service
from server.audit.tables import AuditEntry
from server.checklists.tables import ChecklistItem, ChecklistTemplate
from server.registry.tables import ConflictOfInterest, Enterprise
from tests.conftest import app_of, stop_process
from tests.server.audit.tampering import forced

FIELDCHECK = shutil.which("fieldcheck", path=str(Path(sys.executable).parent)) or "fieldcheck"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _clean_env(**extra: str) -> dict[str, str]:
    """The environment of a fresh shell: no fieldcheck settings inherited from the test run."""
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("FIELDCHECK_", "DATABASE_", "S3_"))}
    return {**keep, **extra}


def _run(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([FIELDCHECK, *args], env=env, capture_output=True, text=True, timeout=timeout)


_ATTR_URL = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", re.I)


async def test_serve_on_a_fresh_data_dir_answers_health_and_offline_docs(tmp_path):
    port = _free_port()
    data_dir = tmp_path / "fresh"
    process = subprocess.Popen(
        [FIELDCHECK, "serve", "--host", "127.0.0.1", "--port", str(port), "--data-dir", str(data_dir)],
        env=_clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=base, timeout=5) as http:
            deadline = time.monotonic() + 60
            while True:
                assert process.poll() is None, process.stdout.read() if process.stdout else "serve exited"
                try:
                    health = await http.get("/health")
                    break
                except httpx.TransportError:
                    assert time.monotonic() < deadline, "fieldcheck serve did not come up within 60 s"
                    await asyncio.sleep(0.3)
            assert health.status_code == 200, health.text
            assert health.json()["status"] == "ok" and health.json()["checks"]["database"] == "ok"
            assert set(health.json()["checks"]) >= {"database", "object_store"}
            assert (data_dir / "fieldcheck.sqlite3").exists()
            # Each start signs the audit chain's head into the object store.
            assert [p.name for p in (data_dir / "objects" / "audit" / "checkpoints").iterdir()] == [f"{0:020d}.json"]

            page = await http.get("/schema")
            assert page.status_code == 200 and "text/html" in page.headers["content-type"]
            urls = _ATTR_URL.findall(page.text)
            assert urls, "the docs page references no assets at all"
            for url in urls:
                assert url.startswith("/") and not url.startswith("//"), f"external asset in /schema: {url}"
                assert (await http.get(url)).status_code == 200, url
            openapi = await http.get("/schema/openapi.json")
            assert openapi.status_code == 200 and "/api/v1/enterprises" in openapi.json()["paths"]
    finally:
        stop_process(process)


async def _write_audit(n: int) -> None:
    from server.accounts.policy import SYSTEM

    for i in range(n):
        async with database.transaction():
            audit_service.record(SYSTEM, "test.cli", "thing", f"t-{i}", {"i": i})


def _production_env(settings, data_dir: Path) -> dict[str, str]:
    """The session's database in production mode, which needs every key; the object store is files in ``data_dir``."""
    return _clean_env(
        DATABASE_URL=settings.database.url,
        FIELDCHECK_DATA_DIR=str(data_dir),
        FIELDCHECK_SECRET_KEY=settings.auth.secret_key,
        FIELDCHECK_ID_HASH_KEY=settings.privacy.id_hash_key,
        FIELDCHECK_AUDIT_KEY=settings.audit.checkpoint_key,
    )


async def test_verify_audit_names_an_edited_row(client, settings, tmp_path):
    await _write_audit(5)
    env = _production_env(settings, tmp_path)
    ok = await asyncio.to_thread(_run, "verify-audit", env=env)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.startswith("OK") and "5 audit entries" in ok.stdout

    target = await AuditEntry.select(AuditEntry.id).where(AuditEntry.seq == 4).first()
    await forced("UPDATE audit_entry SET entity_id = 'forged' WHERE seq = 4")
    broken = await asyncio.to_thread(_run, "verify-audit", env=env)
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert "seq=4" in broken.stdout and str(target["id"]) in broken.stdout
    assert "content does not match" in broken.stdout


async def test_checkpoint_audit_then_a_cut_back_chain_fails_verify_audit_with_the_missing_range(client, settings, tmp_path):
    await _write_audit(6)
    env = _production_env(settings, tmp_path)
    written = await asyncio.to_thread(_run, "checkpoint-audit", env=env)
    assert written.returncode == 0 and "seq 6" in written.stdout, written.stdout + written.stderr
    assert list((tmp_path / "objects" / "audit" / "checkpoints").iterdir())
    await forced("DELETE FROM audit_entry WHERE seq > 4")
    broken = await asyncio.to_thread(_run, "verify-audit", env=env)
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert "seq=5" in broken.stdout and "entries 5–6 are missing" in broken.stdout
    refused = await asyncio.to_thread(_run, "checkpoint-audit", env=env)
    assert refused.returncode == 1 and "BROKEN" in refused.stdout and "missing" in refused.stdout
    keyless = await asyncio.to_thread(_run, "verify-audit", env={**env, "FIELDCHECK_AUDIT_KEY": ""})
    assert keyless.returncode == 2 and "FIELDCHECK_AUDIT_KEY" in keyless.stderr


async def test_verify_audit_fails_loudly_without_a_database(tmp_path):
    env = _clean_env(DATABASE_URL="postgresql://postgres@127.0.0.1:1/nowhere", FIELDCHECK_DATA_DIR=str(tmp_path))
    result = await asyncio.to_thread(_run, "verify-audit", env=env)
    assert result.returncode == 2 and "ERROR" in result.stderr


async def _counts() -> dict[str, int]:
    return {
        "departments": await Department.count(),
        "users": await User.count(),
        "enterprises": await Enterprise.count(),
        "templates": await ChecklistTemplate.count(),
        "items": await ChecklistItem.count(),
        "conflicts": await ConflictOfInterest.count(),
        "inspections": await Inspection.count(),
        "audit": await AuditEntry.count(),
    }


async def test_demo_loader_is_idempotent_and_realistic(client):
    first = await demo.load(app_of(client).state.settings, password="demo-pass-123", history=False)  # the history: tests/server/stats/test_demo_history.py
    counts = await _counts()
    second = await demo.load(app_of(client).state.settings, password="demo-pass-123", history=False)
    assert await _counts() == counts
    assert sum(second.created.values()) == 0 and sum(first.existing.values()) == 0
    assert counts["departments"] == 7 and counts["users"] == 17 and 180 <= counts["enterprises"] <= 220
    assert counts["templates"] == 6 and counts["conflicts"] == 3 and counts["inspections"] == 3
    inspector1 = await User.select(User.id).where(User.username == "inspector1").first()
    assigned = await InspectionInspector.count().where(InspectionInspector.user == inspector1["id"])
    assert assigned == 3
    assert (await audit_service.verify()).ok

    names = {r["name"] for r in await Department.select(Department.name)}
    assert names == {
        "办公室", "应急协调科", "综合监督及救灾保障科", "危险化学品安全监督管理科", "安全生产基础科", "执法支队", "安全生产监测与应急救援指挥中心",
    }
    enterprises = await Enterprise.select(Enterprise.credit_code, Enterprise.sector, Enterprise.district, Enterprise.address)
    assert all(is_valid_credit_code(e["credit_code"]) for e in enterprises)
    assert {e["sector"] for e in enterprises} == {"hazardous_chemicals", "metallurgy", "mining", "non_coal_mining", "coal_mining", "industry_trade"}
    assert {e["district"] for e in enterprises} == {"shapotou", "zhongning", "haiyuan"}
    assert all(e["address"].startswith(("中卫市沙坡头区", "中卫市中宁县", "中卫市海原县")) for e in enterprises)
    inspectors = await User.select(User.username, User.badge_number, User.department).where(User.role == Role.INSPECTOR)
    assert sorted(u["username"] for u in inspectors) == sorted(f"inspector{i}" for i in range(1, 13))
    assert all(u["badge_number"] for u in inspectors) and len({u["department"] for u in inspectors}) >= 4
    majors = await ChecklistItem.count().where(ChecklistItem.is_major_criterion == True)  # noqa: E712
    assert majors > 50

    reviewers = await User.select(User.username).where(User.role == Role.LEGAL_REVIEWER)
    assert [u["username"] for u in reviewers] == ["legal1"]
    for username in ("admin", "supervisor1", "supervisor2", "legal1", "leader1", "inspector7"):
        response = await client.post("/api/v1/auth/login", json={"username": username, "password": "demo-pass-123"})
        assert response.status_code == 200, (username, response.text)


async def test_demo_command_twice_on_the_embedded_default(tmp_path):
    env = _clean_env(FIELDCHECK_DATA_DIR=str(tmp_path / "demo"))
    first = await asyncio.to_thread(_run, "demo", "--password", "another-pass-1", env=env, timeout=300)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "enterprises: 200 created" in first.stdout
    second = await asyncio.to_thread(_run, "demo", env=env, timeout=300)
    assert second.returncode == 0, second.stdout + second.stderr
    assert re.search(r"enterprises: 0 created, 200 already present", second.stdout)
    assert all(line.split(":")[1].strip().startswith("0 created") for line in second.stdout.splitlines() if "created" in line)
    verified = await asyncio.to_thread(_run, "verify-audit", env=env)
    assert verified.returncode == 0 and verified.stdout.startswith("OK")
    short = await asyncio.to_thread(_run, "demo", "--password", "short", env=env)
    assert short.returncode == 2


def test_cli_lists_its_subcommands():
    result = subprocess.run([FIELDCHECK, "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    for name in ("serve", "demo", "verify-audit", "checkpoint-audit"):
        assert name in result.stdout
    with pytest.raises(SystemExit):
        from server.cli import main

        main(["no-such-command"])


async def test_demo_is_refused_in_production_mode_unless_forced(client, settings):
    before = await User.count()
    env = _clean_env(DATABASE_URL=settings.database.url, FIELDCHECK_DATA_DIR=str(settings.server.data_dir))
    refused = await asyncio.to_thread(_run, "demo", env=env)
    assert refused.returncode == 2 and "--force" in refused.stderr
    assert await User.count() == before  # nothing written
    helped = await asyncio.to_thread(_run, "demo", "--help", env=env)
    assert "--force" in helped.stdout
