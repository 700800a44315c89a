from __future__ import annotations

from collections.abc import Iterator

import geo_core
import pytest


@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    for var in ("GEO_STRICT", "GEO_PLUGINS", "GEO_DISABLE_PLUGINS", "GEO_PRIORITY"):
        monkeypatch.delenv(var, raising=False)
    geo_core.reset_plugins()
    yield monkeypatch
    monkeypatch.undo()
    geo_core.reset_plugins()
