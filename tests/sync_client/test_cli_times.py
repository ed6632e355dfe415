"""The phone CLI prints moments in the bureau's zone (FIELDCHECK_TIMEZONE), not the UTC the store keeps."""

from __future__ import annotations

import datetime as dt

import pytest

from sync_client import SyncError
from sync_client import __main__ as cli


def test_a_stored_utc_moment_is_printed_as_beijing_time(monkeypatch):
    monkeypatch.delenv("FIELDCHECK_TIMEZONE", raising=False)
    assert cli.local_time("2025-03-31T16:30:00+00:00") == "2025-04-01 00:30:00"
    assert cli.local_time("2025-03-31T16:30:00.123456Z") == "2025-04-01 00:30:00"
    assert cli.local_time(dt.datetime(2025, 3, 31, 16, 30, tzinfo=dt.UTC)) == "2025-04-01 00:30:00"


def test_the_zone_is_the_configured_one(monkeypatch):
    monkeypatch.setenv("FIELDCHECK_TIMEZONE", "Asia/Urumqi")
    assert cli.local_time("2025-03-31T16:30:00+00:00") == "2025-03-31 22:30:00"
    monkeypatch.setenv("FIELDCHECK_TIMEZONE", "Mars/Olympus")
    with pytest.raises(SyncError):
        cli.local_time("2025-03-31T16:30:00+00:00")


def test_what_is_not_a_moment_is_left_alone(monkeypatch):
    monkeypatch.delenv("FIELDCHECK_TIMEZONE", raising=False)
    for value in ("2025-03-31", "2025-03-31T16:30:00", "消防通道堵塞", "2025-13-45T99:00:00+00:00", 42, None):
        assert cli.local_time(value) == value


def test_records_print_their_times_in_beijing_time(monkeypatch, capsys):
    monkeypatch.delenv("FIELDCHECK_TIMEZONE", raising=False)
    cli._print([{"id": "x", "submitted_at": "2025-06-30T23:59:00+00:00", "planned_date": "2025-07-01",
                 "history": [{"at": "2025-06-30T16:00:00+00:00"}]}])
    out = capsys.readouterr().out
    assert '"submitted_at": "2025-07-01 07:59:00"' in out and '"at": "2025-07-01 00:00:00"' in out
    assert '"planned_date": "2025-07-01"' in out
