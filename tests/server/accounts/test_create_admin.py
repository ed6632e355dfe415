"""``fieldcheck create-admin`` as a subprocess on a fresh embedded data folder: weak passwords refused, then an admin who can log in."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def _create_admin(data_dir: Path, *args: str, stdin: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FIELDCHECK_", "DATABASE_", "S3_"))}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "server.cli", "create-admin", *args, "--password-stdin", "--data-dir", str(data_dir)],
        input=stdin, capture_output=True, text=True, timeout=120, env=env, cwd=ROOT,
    )


def test_create_admin_refuses_weak_passwords_then_creates_the_account(tmp_path: Path) -> None:
    data_dir = tmp_path / "bureau"
    for weak, reason in (("short1", "至少 8 位"), ("password123", "过于常见"), ("chief-admin-2026", "不能包含用户名")):
        refused = _create_admin(data_dir, "chief-admin", stdin=weak + "\n")
        assert refused.returncode != 0, refused.stdout
        assert reason in refused.stderr or "invalid" in refused.stderr, refused.stderr
    made = _create_admin(data_dir, "chief-admin", "--display-name", "局信息科管理员", stdin="Zw9-tabled-lantern\n")
    assert made.returncode == 0, made.stderr
    assert "已创建管理员 chief-admin" in made.stdout
    again = _create_admin(data_dir, "chief-admin", stdin="Other-strong-pass-77\n")
    assert again.returncode == 1 and "用户名已存在" in again.stderr
    with sqlite3.connect(data_dir / "fieldcheck.sqlite3") as db:
        rows = db.execute("SELECT username, role, display_name, active FROM app_user").fetchall()
        audit = db.execute("SELECT action, actor_role FROM audit_entry WHERE action = 'user.create'").fetchall()
    assert rows == [("chief-admin", "admin", "局信息科管理员", 1)]
    assert audit == [("user.create", "system")]
    # The password was never an argument (so never in the process list or shell history).
    assert "Zw9-tabled-lantern" not in " ".join(made.args)
