"""The import contracts in pyproject.toml ([tool.importlinter]) hold: import-linter checks them in the suite.

They say: schemas/ is pure and sync_client/ and storage/ stand alone; server/ is layered
(command line and app on top, the domains, the shared core) with nothing pointing back up;
each domain's ``tables`` module is imported only by its own package (foreign keys, the app's
table registry and the demo/synthetic builders aside, plus a written list of read-only joins);
no package has an import cycle inside it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _lint(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())",
         "--config", str(config), "--no-cache"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )


def test_the_import_contracts_hold():
    result = _lint(ROOT / "pyproject.toml")
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


@pytest.mark.parametrize("contract", ["protected", "layers", "acyclic_siblings", "forbidden"])
def test_each_kind_of_contract_is_present(contract):
    assert f'type = "{contract}"' in (ROOT / "pyproject.toml").read_text()
