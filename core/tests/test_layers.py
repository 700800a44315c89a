"""The import-linter contracts (pyproject.toml, ``[tool.importlinter]``) hold: layers, cli on top, public core.

Every distribution under ``plugins/`` is put under contract automatically (a new plugin needs no edit).
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _toml_list(values: list[str]) -> str:
    return "[" + ", ".join(f'"{v}"' for v in values) + "]"


def test_import_contracts_are_kept(tmp_path: Path) -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    plugins = sorted(p.name for p in ROOT.glob("plugins/*/src/geo_plugin_*") if (p / "__init__.py").is_file())
    roots = sorted({*config["root_packages"], *plugins})
    text = (ROOT / "pyproject.toml").read_text()
    start = text.index("[tool.importlinter]")
    body = text[start:].split("\n", 1)[1]
    lines = ["[tool.importlinter]", f"root_packages = {_toml_list(roots)}"]
    skipping = False
    for line in body.splitlines():  # drop the static root_packages list, keep every contract as written
        if line.startswith("root_packages"):
            skipping = not line.rstrip().endswith("]")
            continue
        if skipping:
            skipping = not line.strip().startswith("]")
            continue
        lines.append(line)
    cfg = tmp_path / "importlinter.toml"
    cfg.write_text("\n".join(lines) + "\n")
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())",
            "--no-cache",
            "--config",
            str(cfg),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "0 broken" in proc.stdout
    for plugin in plugins:  # the private-module contract saw every plugin
        assert plugin in cfg.read_text()
