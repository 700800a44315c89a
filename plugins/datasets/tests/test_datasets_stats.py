import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import typer
import yaml
from geo_core.testing import make_segmentation_folder, write_geotiff
from geo_plugin_datasets._stats import compute_stats
from typer.testing import CliRunner

# rasterio's from_origin uses `Affine * Affine`, flagged by affine>=3.1 (third-party code).
pytestmark = pytest.mark.filterwarnings("ignore:Use `@` matmul instead of `\\*` mul operator:PendingDeprecationWarning")


def _app() -> typer.Typer:
    from geo_plugin_datasets import _hooks

    app = typer.Typer()
    app.callback()(lambda: None)
    _hooks.geo_cli_commands(app)
    return app


def test_stats_are_exact_and_skip_nodata(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    arrays = [rng.normal(100, 10, (2, 8, 8)).astype(np.float32) for _ in range(3)]
    arrays[0][1, 0, 0] = -1
    pairs = []
    for i, a in enumerate(arrays):
        write_geotiff(tmp_path / f"{i}.tif", a, nodata=-1)
        lbl = write_geotiff(tmp_path / f"{i}_m.tif", (a[0] > 100).astype(np.uint8))
        pairs.append((tmp_path / f"{i}.tif", lbl))
    out = compute_stats(pairs, band_names=["a", "b"], constant_scale=0.5, progress=False)
    allv = np.stack(arrays).transpose(1, 0, 2, 3).reshape(2, -1).astype(np.float64)
    b1 = allv[1][allv[1] != -1]
    np.testing.assert_allclose(out["means"], [allv[0].mean() * 0.5, b1.mean() * 0.5], rtol=1e-9)
    np.testing.assert_allclose(out["stds"], [allv[0].std() * 0.5, b1.std() * 0.5], rtol=1e-9)
    assert out["mins"][1] == pytest.approx(b1.min() * 0.5) and out["pixel_counts"] == [192, 191]
    assert sum(out["class_counts"].values()) == 192 and out["bands"] == ["a", "b"]


def test_geo_stats_data_root_writes_file_the_datamodule_reads(tmp_path: Path) -> None:
    import geo_core

    make_segmentation_folder(tmp_path, n=4, size=8, bands=3)
    res = CliRunner().invoke(
        _app(),
        [
            "stats",
            "--data-root",
            str(tmp_path / "images"),
            "--label-root",
            str(tmp_path / "labels"),
            "--img-grep",
            "*_img.tif",
            "--label-grep",
            "*_mask.tif",
            "--output",
            str(tmp_path / "s.json"),
            "--no-progress",
        ],
    )
    assert res.exit_code == 0, res.output
    stats = json.loads((tmp_path / "s.json").read_text())
    assert len(stats["means"]) == 3 and set(stats["class_counts"]) == {"0", "1"}
    assert 0.4 < stats["means"][0] < 0.6 and "wrote" in res.output
    dm = geo_core.DATAMODULES.build(
        "GenericNonGeoSegmentationDataModule",
        batch_size=2,
        train_data_root=tmp_path / "images",
        train_label_data_root=tmp_path / "labels",
        img_grep="*_img.tif",
        label_grep="*_mask.tif",
        stats_file=str(tmp_path / "s.json"),
    )
    assert dm.scene_preprocessing().means == pytest.approx(stats["means"])


def test_geo_stats_config_and_errors(tmp_path: Path) -> None:
    make_segmentation_folder(tmp_path, n=3, size=8, bands=2)
    cfg = {
        "data": {
            "class_path": "terratorch.datamodules.GenericNonGeoPixelwiseRegressionDataModule",
            "init_args": {
                "batch_size": 2,
                "train_data_root": str(tmp_path / "images"),
                "train_label_data_root": str(tmp_path / "labels"),
                "img_grep": "*_img.tif",
                "label_grep": "*_mask.tif",
                "dataset_bands": ["X", "Y"],
                "output_bands": ["Y"],
                "stats_file": str(tmp_path / "not_yet.yaml"),
            },
        }
    }
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg))
    res = CliRunner().invoke(
        _app(), ["stats", "-c", str(tmp_path / "c.yaml"), "-o", str(tmp_path / "not_yet.yaml"), "--no-progress"]
    )
    assert res.exit_code == 0, res.output
    stats = yaml.safe_load((tmp_path / "not_yet.yaml").read_text())
    assert stats["bands"] == ["Y"] and "label_mean" in stats
    res = CliRunner().invoke(_app(), ["stats", "--data-root", str(tmp_path / "nope")])
    assert res.exit_code == 2 and "does not exist" in res.output


def test_hook_module_is_torch_free() -> None:
    code = (
        "import sys, geo_plugin_datasets, geo_plugin_datasets._hooks, geo_plugin_datasets._cli;"
        "bad=[m for m in ('torch','rasterio','lightning','numpy') if m in sys.modules]; print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
