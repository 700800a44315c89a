"""The import-linter contracts (pyproject.toml, ``[tool.importlinter]``) hold: layers, cli on top, public core."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _config() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]


def test_every_plugin_is_under_contract() -> None:
    packages = sorted(p.name for p in ROOT.glob("plugins/*/src/geo_plugin_*") if (p / "__init__.py").is_file())
    listed = set(_config()["root_packages"])
    missing = [p for p in packages if p not in listed]
    assert not missing, f"add {missing} to [tool.importlinter] root_packages in pyproject.toml"


def test_import_contracts_are_kept() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command; "
         "sys.exit(lint_imports_command())", "--no-cache"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "0 broken" in proc.stdout
