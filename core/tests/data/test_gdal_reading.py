"""raster_reading: GDAL stops listing folders on open, side-cars of local files are still found."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from geo_core.data import is_remote, raster_reading
from geo_core.testing import write_geotiff
from rasterio.env import getenv


def test_local_files_keep_their_side_cars(tmp_path):
    path = write_geotiff(tmp_path / "chip.tif", bands=1, height=4, width=4)
    (tmp_path / "chip.tif.aux.xml").write_text(
        '<PAMDataset><PAMRasterBand band="1"><NoDataValue>5</NoDataValue></PAMRasterBand></PAMDataset>'
    )
    with raster_reading(path):
        assert getenv()["GDAL_DISABLE_READDIR_ON_OPEN"] == "TRUE"
        with rasterio.open(path) as src:
            assert src.nodata == 5  # found by name, without listing the folder
    with raster_reading("/vsicurl/https://example.org/cog.tif"):
        assert getenv()["GDAL_DISABLE_READDIR_ON_OPEN"] == "EMPTY_DIR"
        with rasterio.open(path) as src:
            assert src.nodata is None  # remote rule: no side-cars at all (shown on a local file)


def test_nesting_is_free_and_options_apply_and_the_user_setting_wins(tmp_path, monkeypatch):
    with raster_reading("a.tif"):
        outer = getenv()
        with raster_reading("b.tif"):
            assert getenv() == outer
        with raster_reading("b.tif", GDAL_CACHEMAX=64):
            assert getenv()["GDAL_CACHEMAX"] == 64
        assert "GDAL_CACHEMAX" not in getenv()
    monkeypatch.setenv("GDAL_DISABLE_READDIR_ON_OPEN", "NO")
    with raster_reading("a.tif"):
        assert "GDAL_DISABLE_READDIR_ON_OPEN" not in getenv()


@pytest.mark.parametrize(
    ("path", "remote"),
    [
        ("/data/x.tif", False),
        ("file:///data/x.tif", False),
        ("/vsicurl/https://h/x.tif", True),
        ("/vsis3/bucket/x.tif", True),
        ("https://h/x.tif", True),
        ("s3://bucket/x.tif", True),
        ("/vsimem/x.tif", False),
        (None, False),
    ],
)
def test_is_remote(path, remote):
    assert is_remote(path) is remote


def test_reads_inside_give_the_same_pixels(tmp_path):
    path = write_geotiff(tmp_path / "s.tif", bands=3, height=8, width=8, seed=2)
    with rasterio.open(path) as src:
        plain = src.read()
    with raster_reading(path), rasterio.open(path) as src:
        np.testing.assert_array_equal(src.read(), plain)
