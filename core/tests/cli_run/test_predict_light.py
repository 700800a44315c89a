"""``geo predict`` without Lightning: the task path's output, and none of the HEAVY modules imported."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest
import rasterio
import torch
import yaml
from geo_core import runs as api
from geo_core.runs._light import light_predictor
from geo_core.testing import write_geotiff

from .conftest import LIGHTNING_PYTREE

pytestmark = pytest.mark.filterwarnings(LIGHTNING_PYTREE)

#: never imported by a Lightning-free prediction (pandas, pyarrow, pyproj: only GeoParquet embeddings need them)
HEAVY = ("lightning", "torchmetrics", "torchvision", "jsonargparse", "pandas", "pyarrow", "pyproj")


def _config(tmp_path, means=None):
    return {
        "trainer": {
            "max_epochs": 1,
            "accelerator": "cpu",
            "devices": 1,
            "enable_progress_bar": False,
            "enable_model_summary": False,
            "default_root_dir": str(tmp_path / "run"),
            "num_sanity_val_steps": 0,
            "limit_train_batches": 1,
            "limit_val_batches": 1,
        },
        "model": {
            "class_path": "SemanticSegmentationTask",
            "init_args": {
                "model_factory": "EncoderDecoderFactory",
                "model_args": {"backbone": "tiny_cnn", "decoder": "UNetDecoder", "num_classes": 2},
            },
        },
        "data": {
            "class_path": "geo_core.testing._datamodules.TinyGeoDataModule",
            "init_args": {
                "num_samples": 4,
                "size": 32,
                "batch_size": 4,
                "means": means or [0.5] * 6,
                "stds": [0.25] * 6,
            },
        },
    }


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("light")
    cfg = tmp / "seg.yaml"
    cfg.write_text(yaml.safe_dump(_config(tmp)))
    api.train(cfg)
    scene = write_geotiff(tmp / "scene.tif", bands=6, height=70, width=90, seed=2)
    return tmp, cfg, scene


def test_predict_skips_lightning_and_matches_the_task_path(trained):
    tmp, cfg, scene = trained
    code = textwrap.dedent(f"""
        import sys
        from geo_core import runs
        runs.predict({str(cfg)!r}, ckpt="last", input={str(scene)!r}, output={str(tmp / "light.tif")!r},
                     crop=32, stride=24, output_kind="probabilities")
        print(sorted(m for m in {HEAVY!r} if m in sys.modules))
    """)
    res = subprocess.run([sys.executable, "-W", "ignore", "-c", code], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip().splitlines()[-1] == "[]", res.stdout
    # the task path (a RunConfig goes through the Lightning task) writes the same probabilities; it runs in a
    # fresh process too, so both sides share torch's default state (threads, backends) whatever ran before
    code = textwrap.dedent(f"""
        from geo_core import runs
        runs.predict(runs.load_config({str(cfg)!r}), ckpt="last", input={str(scene)!r},
                     output={str(tmp / "task.tif")!r}, crop=32, stride=24, output_kind="probabilities")
    """)
    res = subprocess.run([sys.executable, "-W", "ignore", "-c", code], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    with rasterio.open(tmp / "light.tif") as a:
        light = a.read()
    assert light.shape == (2, 70, 90) and np.abs(light - 0.5).max() > 0
    assert (tmp / "light.tif").read_bytes() == (tmp / "task.tif").read_bytes()


def test_onnxruntime_engine_also_skips_lightning(trained):
    """The engine plugin exports the light path's model without importing Lightning."""
    pytest.importorskip("geo_plugin_onnx")
    tmp, cfg, scene = trained
    code = textwrap.dedent(f"""
        import sys
        from geo_core import runs
        for engine in ("torch", "onnxruntime"):
            runs.predict({str(cfg)!r}, ckpt="last", input={str(scene)!r}, output={str(tmp)!r} + f"/{{engine}}.tif",
                         crop=32, stride=24, output_kind="probabilities", engine=engine)
        print(sorted(m for m in ("lightning", "torchmetrics") if m in sys.modules))
    """)
    res = subprocess.run([sys.executable, "-W", "ignore", "-c", code], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip().splitlines()[-1] == "[]", res.stdout
    with rasterio.open(tmp / "onnxruntime.tif") as a, rasterio.open(tmp / "torch.tif") as b:
        assert np.abs(a.read() - b.read()).max() <= 1e-4


def test_light_path_steps_aside_when_it_cannot_vouch_for_the_result(trained, tmp_path):
    tmp = trained[0]
    ckpt = tmp / "run" / "checkpoints" / "last.ckpt"
    base = _config(tmp)
    assert light_predictor(base, ckpt) is not None
    pred, pre = light_predictor(base, ckpt)
    assert pre.means == [0.5] * 6 and pred.task_kind == "segmentation"
    assert light_predictor(_config(tmp, means=[0.4] * 6), ckpt) is None  # data changed since training
    other = _config(tmp)
    other["model"]["class_path"] = "PixelwiseRegressionTask"
    assert light_predictor(other, ckpt) is None  # not the task the checkpoint was trained as
    wider = _config(tmp)
    wider["model"]["init_args"]["model_args"]["num_classes"] = 3
    assert light_predictor(wider, ckpt) is None  # weights do not fit: the task path reports it
    state = torch.load(ckpt, weights_only=True)
    del state["geo_predict"]
    old = tmp_path / "old.ckpt"
    torch.save(state, old)
    assert light_predictor(base, old) is None  # a checkpoint from before geo_predict


def test_image_level_predict_skips_lightning_and_writes_the_task_paths_table(tmp_path):
    cfg = _config(tmp_path)
    cfg["model"] = {
        "class_path": "ClassificationTask",
        "init_args": {
            "model_factory": "EncoderDecoderFactory",
            "model_args": {"backbone": "tiny_cnn", "decoder": "IdentityDecoder", "num_classes": 3},
            "class_names": ["water", "forest", "urban"],
        },
    }
    cfg["data"]["init_args"].update(task="classification", num_classes=3)
    path = tmp_path / "cls.yaml"
    path.write_text(yaml.safe_dump(cfg))
    api.train(path)
    for i in range(3):
        write_geotiff(tmp_path / "chips" / f"c{i}.tif", bands=6, height=32, width=32, seed=i)
    code = textwrap.dedent(f"""
        import sys
        from geo_core import runs
        runs.predict({str(path)!r}, ckpt="last", input={str(tmp_path / "chips")!r},
                     output={str(tmp_path / "light.csv")!r}, output_kind="probabilities")
        print(sorted(m for m in {HEAVY!r} if m in sys.modules))
    """)
    res = subprocess.run([sys.executable, "-W", "ignore", "-c", code], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip().splitlines()[-1] == "[]", res.stdout
    api.predict(
        api.load_config(path),
        ckpt="last",
        input=tmp_path / "chips",
        output=tmp_path / "task.csv",
        output_kind="probabilities",
    )
    light, task = (tmp_path / "light.csv").read_bytes(), (tmp_path / "task.csv").read_bytes()
    assert light.splitlines()[0] == b"filename,prediction,class,confidence,prob_water,prob_forest,prob_urban"
    assert len(light.splitlines()) == 4 and light == task
