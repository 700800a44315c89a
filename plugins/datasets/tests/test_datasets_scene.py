"""A datamodule's scene preprocessing from its config alone equals the built one's; `geo embed` then skips Lightning."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import geo_core
import pytest
import yaml
from geo_core.testing import write_geotiff
from geo_plugin_datasets._scene import _TABLE, _options_table, scene_preprocessing_of_config
from geo_plugin_datasets._stats import write_stats

BANDS = ["BLUE", "GREEN", "RED", "NIR", "SWIR_1", "SWIR_2"]
PIXELWISE = ["GenericNonGeoSegmentationDataModule", "GenericNonGeoPixelwiseRegressionDataModule"]
IMAGE_LEVEL = [
    "GenericNonGeoClassificationDataModule",
    "GenericNonGeoMultiLabelClassificationDataModule",
    "GenericNonGeoScalarRegressionDataModule",
]
HEAVY = ("lightning", "torchmetrics", "torchvision")


def test_options_table_is_current() -> None:
    assert json.loads(_TABLE.read_text()) == json.loads(json.dumps(_options_table())), (
        "run: python -m geo_plugin_datasets._scene"
    )
    for name in PIXELWISE + IMAGE_LEVEL:  # the manifest names the function for each of them
        meta = geo_core.DATAMODULES.info(name).metadata
        assert meta["scene_preprocessing"] == "geo_plugin_datasets._scene:scene_preprocessing_of_config"


def _cases(stats: Path) -> list[dict[str, Any]]:
    return [
        {},
        {"dataset_bands": BANDS, "output_bands": ["NIR", "BLUE"], "means": [0.1, 0.2], "stds": [1, 2]},
        {"dataset_bands": BANDS, "output_bands": [3, 0], "constant_scale": 1e-4, "no_data_replace": -1},
        {"dataset_bands": BANDS, "output_bands": ["SWIR_2", "RED"], "stats_file": str(stats)},
        {"dataset_bands": BANDS, "means": str(stats), "stds": str(stats), "constant_scale": 2},
        {"dataset_bands": [0, 1, 2, 3, 4, 5], "output_bands": [5], "no_data_replace": 0.5},
        {
            "dataset_bands": BANDS,
            "output_bands": ["RED"],
            "predict_dataset_bands": ["RED", "NIR", "X"],
            "predict_output_bands": ["NIR", "RED"],
            "means": [1, 2],
            "stds": [3, 4],
        },
        {"dataset_bands": BANDS[:3], "predict_dataset_bands": ["RED", "GREEN", "BLUE"], "output_bands": ["BLUE"]},
    ]


@pytest.mark.parametrize("name", PIXELWISE + IMAGE_LEVEL)
def test_config_preprocessing_is_the_datamodules(name: str, tmp_path: Path) -> None:
    stats = write_stats({"bands": BANDS, "means": [1, 2, 3, 4, 5, 6], "stds": [1, 1, 1, 1, 1, 2]}, tmp_path / "s.yaml")
    for case in _cases(stats):
        args = {"batch_size": 2, "train_data_root": str(tmp_path), **case}
        if name == "GenericNonGeoMultiLabelClassificationDataModule":
            args["class_names"] = ["a", "b"]
        built = geo_core.DATAMODULES.build(name, **args).scene_preprocessing()
        assert scene_preprocessing_of_config(name, args) == built, case
    # the image-level datamodules replace nodata by 0 unless told otherwise, the pixel-wise ones keep it
    default = scene_preprocessing_of_config(name, {"batch_size": 1})
    assert default.no_data_replace == (0 if name in IMAGE_LEVEL else None)


def test_config_preprocessing_refuses_what_needs_the_datamodule(tmp_path: Path) -> None:
    name = PIXELWISE[0]
    write_geotiff(tmp_path / "a.tif", bands=3, height=8, width=8, band_descriptions=["RED", "NIR", "SWIR"])
    for case in (
        {"output_bands": ["NIR"]},  # names looked up in the files' band descriptions
        {"means": [0, 0, 0], "stds": [1, 1, 1]},  # as many values as the files have bands
    ):
        args = {"batch_size": 1, "train_data_root": str(tmp_path), **case}
        assert geo_core.DATAMODULES.build(name, **args).scene_preprocessing().num_bands in (1, None)
        with pytest.raises(LookupError):
            scene_preprocessing_of_config(name, args)
    for bad in ({"batch_size": 1, "mean": [0.0]}, {"dataset_bands": BANDS}):  # a typo, no batch_size
        with pytest.raises(geo_core.ConfigError):
            scene_preprocessing_of_config(name, bad)


def _embed(root: Path, cfg: str, out: str, light: bool) -> str:
    """Embed the scenes in a fresh process (torch state of earlier tests must not matter)."""
    config = f"{str(root / cfg)!r}" if light else f"runs.load_config({str(root / cfg)!r})"  # a RunConfig: the task
    code = textwrap.dedent(f"""
        import sys
        from geo_core import runs
        counts = runs.run_embedding({config}, input={str(root / "scenes")!r}, output={str(root / out)!r})
        assert counts["written"] == 2, counts
        print(sorted(m for m in {HEAVY!r} if m in sys.modules))
    """)
    res = subprocess.run([sys.executable, "-W", "ignore", "-c", code], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    return res.stdout.strip().splitlines()[-1]


def test_geo_embed_with_a_data_section_skips_lightning_and_writes_the_task_paths_bytes(tmp_path: Path) -> None:
    for i in range(2):
        write_geotiff(tmp_path / "scenes" / f"s{i}.tif", bands=6, height=32, width=32, seed=i, nodata=-1)
    data_args = {
        "batch_size": 2,
        "train_data_root": str(tmp_path / "scenes"),
        "dataset_bands": BANDS,
        "output_bands": ["NIR", "RED", "GREEN"],
        "means": [0.5, 0.4, 0.3],
        "stds": [0.2, 0.3, 0.25],
        "constant_scale": 2.0,
        "no_data_replace": 0,
    }
    model = {
        "class_path": "EmbeddingGenerationTask",
        "init_args": {"backbone": "tiny_cnn", "backbone_args": {"in_channels": 3}, "output_format": "tiff"},
    }
    for cfg, means in (("a.yaml", data_args["means"]), ("b.yaml", [0.0, 0.0, 0.0])):
        data = {"class_path": "GenericNonGeoSegmentationDataModule", "init_args": {**data_args, "means": means}}
        run = {"trainer": {"accelerator": "cpu", "logger": False}, "model": model, "data": data}
        (tmp_path / cfg).write_text(yaml.safe_dump(run))
    assert _embed(tmp_path, "a.yaml", "light", light=True) == "[]"  # no Lightning, torchmetrics, torchvision
    assert _embed(tmp_path, "a.yaml", "task", light=False) != "[]"
    _embed(tmp_path, "b.yaml", "other", light=True)

    def files(out: str) -> dict[str, bytes]:
        return {p.name: p.read_bytes() for p in sorted((tmp_path / out).glob("*_embedding.*"))}

    assert len(files("light")) == 2 and files("light") == files("task")
    assert files("light") != files("other")  # the data section's normalisation was applied
