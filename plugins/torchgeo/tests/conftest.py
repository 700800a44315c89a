"""Never reach the network nor the real caches: offline, with geo's weight caches under tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _offline_weight_caches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GEO_WEIGHTS_DIR", str(tmp_path / "geo-weights"))
    monkeypatch.setenv("GEO_OFFLINE", "1")
    monkeypatch.delenv("GEO_TORCHGEO_WEIGHTS", raising=False)
