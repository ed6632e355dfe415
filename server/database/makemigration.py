"""Rebuild the initial migration from the current tables (development only).

Nothing is deployed yet, so the schema lives in one migration regenerated from
the tables: ``python -m server.database.makemigration``. It keeps a fixed id
and file name (``m0001_initial.py``), so the hand-written migrations after it
(``m0002_…``) stay in order. Once a release is deployed, this stops and new
migrations are added with ``piccolo migrations new fieldcheck --auto`` instead.
"""

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

MIGRATIONS = Path(__file__).parent / "migrations"
INITIAL = MIGRATIONS / "m0001_initial.py"
INITIAL_ID = "2026-11-29T00:00:00:000000"


def main() -> None:
    INITIAL.unlink(missing_ok=True)
    hand_written = {p.name for p in MIGRATIONS.glob("m0*.py")}
    with tempfile.TemporaryDirectory() as data_dir:
        env = {
            **os.environ,
            "PICCOLO_CONF": "server.piccolo_conf",
            "DATABASE_URL": "",
            "FIELDCHECK_DATA_DIR": data_dir,
        }
        subprocess.run(
            [sys.executable, "-m", "piccolo.main", "migrations", "new", "fieldcheck", "--auto", "--desc=initial"],
            check=True,
            env=env,
        )
    (generated,) = [p for p in MIGRATIONS.glob("*.py") if p.name not in hand_written | {"__init__.py"}]
    text = re.sub(r'^ID = ".*"$', f'ID = "{INITIAL_ID}"', generated.read_text(), count=1, flags=re.M)
    INITIAL.write_text(text)
    generated.unlink()
    print(f"wrote {INITIAL}")


if __name__ == "__main__":
    main()
