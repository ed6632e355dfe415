"""``fieldcheck escalate-overdue`` runs the ladder on the configured database (here a fresh embedded one)."""

from __future__ import annotations

import pytest

from server.cli import main


def test_escalate_overdue_command(tmp_path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("FIELDCHECK_DATA_DIR", str(tmp_path))
    assert main(["escalate-overdue", "--at", "2023-07-01T09:00+08:00"]) == 0
    assert "OK: 0 escalation step(s) applied, 0 recheck(s) created" in capsys.readouterr().out
    assert main(["escalate-overdue", "--at", "2023-07-01T09:00"]) == 2
    assert "time zone" in capsys.readouterr().err
