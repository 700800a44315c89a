"""Fixtures: a PNG catalog (CSV) and a GeoTIFF catalog (Parquet)."""

from __future__ import annotations

from pathlib import Path

import pytest
from geo_plugin_zoobot.testing import make_catalog


@pytest.fixture
def png_catalog(tmp_path: Path) -> Path:
    df = make_catalog(tmp_path)
    path = tmp_path / "catalog.csv"
    df.to_csv(path, index=False)
    return path


@pytest.fixture
def tif_catalog(tmp_path: Path) -> Path:
    df = make_catalog(tmp_path, kind="tif")
    path = tmp_path / "catalog.parquet"
    df.to_parquet(path, index=False)
    return path
