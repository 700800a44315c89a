from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import geo_core
import pytest


@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Rediscover plugins before and after the test (env vars change discovery)."""
    for var in ("GEO_STRICT", "GEO_PLUGINS", "GEO_DISABLE_PLUGINS", "GEO_PRIORITY"):
        monkeypatch.delenv(var, raising=False)
    geo_core.reset_plugins()
    yield monkeypatch
    monkeypatch.undo()
    geo_core.reset_plugins()


def run_python(code: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=full_env, timeout=120)
