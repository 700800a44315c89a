"""Static checks run with the tests, so CI enforces them: ruff lint, ruff format, mypy strict on every distribution."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _tool(name: str) -> str:
    here = Path(sys.executable).parent / name
    found = str(here) if here.exists() else shutil.which(name)
    if not found:
        pytest.fail(f"{name} is not installed; run bash scripts/setup_env.sh (requirements-dev.txt lists it)")
    return found


def _run(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_ruff_lint_passes() -> None:
    res = _run([_tool("ruff"), "check", "."])
    assert res.returncode == 0, res.stdout + res.stderr


def test_ruff_format_is_applied() -> None:
    res = _run([_tool("ruff"), "format", "--check", "."])
    assert res.returncode == 0, "run `ruff format .`:\n" + res.stdout + res.stderr


@pytest.mark.slow
def test_mypy_strict_passes_on_every_distribution() -> None:
    # pyproject's [tool.mypy] files: core, every plugins/*/src and the example plugin of docs/examples
    res = _run([sys.executable, "-m", "mypy"])
    assert res.returncode == 0, res.stdout + res.stderr
