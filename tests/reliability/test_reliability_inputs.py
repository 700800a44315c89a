"""Bad input rasters for the generic datamodules and for `geo predict`: every one is an error naming the file."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import geo_core
import numpy as np
import pytest
from geo_core import InputDataError
from geo_core.testing import write_geotiff

from .conftest import AFFINE_MUL, run_cli, run_config, write_yaml

pytestmark = pytest.mark.filterwarnings(AFFINE_MUL)

ORIGIN = (500000.0, 4200000.0)


@pytest.fixture
def data(seg_data: Path, tmp_path: Path) -> Path:
    """A private copy of the 8-pair folder, safe to corrupt."""
    shutil.copytree(seg_data, tmp_path / "d")
    return tmp_path / "d"


def _dm(root: Path, **kw: Any) -> Any:
    args: dict[str, Any] = dict(
        batch_size=2,
        train_data_root=root / "images",
        train_label_data_root=root / "labels",
        img_grep="*_img.tif",
        label_grep="*_mask.tif",
        num_classes=2,
    )
    args.update(kw)
    return geo_core.DATAMODULES.build("GenericNonGeoSegmentationDataModule", **args)


def _read_all(dm: Any) -> None:
    """Set up and read every training batch (what one epoch does)."""
    dm.setup("fit")
    for _ in dm.train_dataloader():
        pass


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


# -- datamodules --------------------------------------------------------------------------------
@pytest.mark.parametrize("which", ["images/tile005_img.tif", "labels/tile005_mask.tif"])
@pytest.mark.parametrize("samples", [8, 1])  # caught by the shape check, or only when the sample is read
def test_truncated_geotiff_is_named(data, which, samples):
    _truncate(data / which)
    with pytest.raises(InputDataError, match=re.escape(Path(which).name)):
        _read_all(_dm(data, shape_check_samples=samples))


def test_not_a_raster_at_all_is_named(data):
    (data / "images" / "tile003_img.tif").write_text("<html>404 not found</html>")
    with pytest.raises(InputDataError, match=r"tile003_img\.tif"):
        _read_all(_dm(data))


def test_wrong_band_count_is_named(data):
    write_geotiff(data / "images" / "tile004_img.tif", bands=4, height=32, width=32, origin=ORIGIN)
    with pytest.raises(InputDataError, match=r"tile004_img\.tif"):
        _read_all(_dm(data))
    bands = ["B", "G", "R", "N", "S1", "S2"]
    with pytest.raises(InputDataError, match=r"tile004_img.tif: image \(4, 32, 32\)"):
        _read_all(_dm(data, dataset_bands=bands, shape_check_samples=1))


@pytest.mark.parametrize("samples", [8, 1])
def test_image_label_size_mismatch_is_named(data, samples):
    write_geotiff(data / "labels" / "tile006_mask.tif", np.zeros((16, 16), np.uint8), origin=ORIGIN)
    with pytest.raises(InputDataError, match="tile006"):
        _read_all(_dm(data, shape_check_samples=samples, batch_size=1))


def test_image_label_crs_mismatch_is_named(data):
    mask = np.zeros((32, 32), np.uint8)
    write_geotiff(data / "labels" / "tile002_mask.tif", mask, crs="EPSG:4326", origin=(10.0, 45.0), resolution=0.0003)
    with pytest.raises(InputDataError, match=r"tile002.*(CRS|crs)"):
        _read_all(_dm(data))


def test_empty_directories_are_named(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "labels").mkdir()
    with pytest.raises(InputDataError, match=r"images.*no image file matches|no image file matches.*images"):
        _read_all(_dm(tmp_path))
    write_geotiff(tmp_path / "images" / "a_img.tif", bands=6)
    with pytest.raises(InputDataError, match="labels"):
        _read_all(_dm(tmp_path))


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_non_finite_pixels_are_named(data, value):
    img = np.random.default_rng(0).random((6, 32, 32), dtype=np.float32)
    img[2, 5:9, 5:9] = value
    write_geotiff(data / "images" / "tile001_img.tif", img, origin=ORIGIN)
    with pytest.raises(InputDataError, match=r"tile001_img\.tif"):
        _read_all(_dm(data))


def test_nan_pixels_are_replaced_when_no_data_replace_is_set(data):
    img = np.random.default_rng(0).random((6, 32, 32), dtype=np.float32)
    img[2, 5:9, 5:9] = np.nan
    write_geotiff(data / "images" / "tile001_img.tif", img, origin=ORIGIN)
    dm = _dm(data, no_data_replace=0.0)
    dm.setup("fit")
    sample = next(s for s in dm.datasets["train"] if s["filename"].endswith("tile001_img.tif"))
    assert bool(sample["image"].isfinite().all()) and float(sample["image"][2, 6, 6]) == 0.0


def test_all_nodata_tile_is_replaced_and_its_label_ignored(data):
    write_geotiff(
        data / "images" / "tile007_img.tif", np.full((6, 32, 32), -9999.0, np.float32), origin=ORIGIN, nodata=-9999.0
    )
    write_geotiff(data / "labels" / "tile007_mask.tif", np.full((32, 32), 255, np.uint8), origin=ORIGIN, nodata=255)
    dm = _dm(data, no_data_replace=0.0, no_label_replace=-1)
    dm.setup("fit")
    sample = next(s for s in dm.datasets["train"] if s["filename"].endswith("tile007_img.tif"))
    assert bool((sample["image"] == 0).all()) and bool((sample["mask"] == -1).all())


# -- geo predict --------------------------------------------------------------------------------
@pytest.fixture
def predict_cfg(seg_data: Path, tmp_path: Path) -> Path:
    cfg = run_config(seg_data, tmp_path / "run")
    cfg["data"]["init_args"].update(means=[0.5] * 6, stds=[0.25] * 6, no_data_replace=0.0)
    return write_yaml(tmp_path / "predict.yaml", cfg)


def _predict(cfg: Path, inp: Path, out: Path) -> Any:
    return run_cli(["predict", "-c", str(cfg), "-i", str(inp), "-o", str(out), "--crop", "32", "--stride", "32"])


def _scene(path: Path, **kw: Any) -> Path:
    kw.setdefault("bands", 6)
    return write_geotiff(path, height=40, width=40, origin=ORIGIN, **kw)


def _bad_scene(kind: str, path: Path) -> Path:
    if kind == "truncated":
        _scene(path, seed=1)
        _truncate(path)
    elif kind == "garbage":
        path.write_bytes(b"II*\x00" + b"\x00" * 64)
    elif kind == "wrong_bands":
        _scene(path, bands=4)
    else:
        img = np.random.default_rng(0).random((6, 40, 40), dtype=np.float32)
        img[1, 10:20, 10:20] = {"nan": np.nan, "inf": np.inf}[kind]
        write_geotiff(path, img, origin=ORIGIN)
    return path


@pytest.mark.parametrize("kind", ["truncated", "garbage", "wrong_bands", "nan", "inf"])
def test_geo_predict_bad_scene_names_the_file_and_leaves_no_output(predict_cfg, tmp_path, kind):
    if kind == "nan":  # NaN is bad only when no_data_replace does not say what to put there
        text = predict_cfg.read_text().replace("no_data_replace: 0.0", "no_data_replace: null")
        assert "no_data_replace: null" in text
        predict_cfg.write_text(text)
    scenes = tmp_path / "scenes"
    _scene(scenes / "a_good.tif")
    _bad_scene(kind, scenes / "b_bad.tif")
    out = tmp_path / "preds"
    res = _predict(predict_cfg, scenes, out)
    assert res.exit_code == 1, res.output
    assert "Traceback" not in res.output and "b_bad.tif" in res.output, res.output
    assert len(res.output.strip().splitlines()) < 25, res.output
    written = sorted(p.name for p in out.iterdir()) if out.exists() else []
    assert "b_bad_pred.tif" not in written and not [n for n in written if ".tmp-" in n], written


def test_geo_predict_replaces_nan_like_the_datamodule(predict_cfg, tmp_path):
    import rasterio

    src = _bad_scene("nan", tmp_path / "holes.tif")
    out = tmp_path / "holes_pred.tif"
    res = run_cli(
        [
            "predict",
            "-c",
            str(predict_cfg),
            "-i",
            str(src),
            "-o",
            str(out),
            "--crop",
            "32",
            "--stride",
            "32",
            "--output-kind",
            "probabilities",
        ]
    )
    assert res.exit_code == 0, res.output
    with rasterio.open(out) as o:
        assert bool(np.isfinite(o.read()).all())


def test_geo_predict_all_nodata_scene_gives_an_all_nodata_output(predict_cfg, tmp_path):
    import rasterio

    src = write_geotiff(
        tmp_path / "empty.tif", np.full((6, 40, 40), -9999.0, np.float32), origin=ORIGIN, nodata=-9999.0
    )
    out = tmp_path / "empty_pred.tif"
    res = _predict(predict_cfg, src, out)
    assert res.exit_code == 0, res.output
    with rasterio.open(out) as o:
        assert o.nodata is not None and bool((o.read() == o.nodata).all())


def test_geo_predict_empty_folder_is_named(predict_cfg, tmp_path):
    (tmp_path / "nothing").mkdir()
    res = _predict(predict_cfg, tmp_path / "nothing", tmp_path / "preds")
    assert res.exit_code == 1 and "nothing" in res.output and "no GeoTIFF" in res.output, res.output
    assert not (tmp_path / "preds").exists()
