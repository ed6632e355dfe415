"""Statistics cut months in the configured FIELDCHECK_TIMEZONE, in Python and in the SQL of the indicators
(as PostgreSQL receives it, after server.stats.dialect renders the month)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

PROBE = """
import datetime as dt, json
from server.stats import definitions, dialect, periods
month = periods.parse_period("2025-03")
print(json.dumps({
    "zone": periods.TIMEZONE,
    "starts": month.start_at().isoformat(),
    "today": str(periods.local_today(dt.datetime(2025, 2, 28, 17, 30, tzinfo=dt.UTC))),
    "sql": dialect.render_postgres(definitions.INSPECTION.month_sql()),
}))
"""


def _probe(zone: str | None) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "FIELDCHECK_TIMEZONE"}
    if zone:
        env["FIELDCHECK_TIMEZONE"] = zone
    env["PYTHONPATH"] = str(ROOT)
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_configured_zone_cuts_the_periods():
    urumqi = _probe("Asia/Urumqi")
    assert urumqi["zone"] == "Asia/Urumqi" and "Asia/Urumqi" in urumqi["sql"]
    assert urumqi["starts"] == "2025-03-01T00:00:00+06:00" and urumqi["today"] == "2025-02-28"
    default = _probe(None)
    assert default["zone"] == "Asia/Shanghai" and "Asia/Shanghai" in default["sql"]
    assert default["starts"] == "2025-03-01T00:00:00+08:00" and default["today"] == "2025-03-01"
