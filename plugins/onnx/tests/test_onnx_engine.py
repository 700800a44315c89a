"""``engine: onnxruntime`` streams like the torch engine: probabilities within 1e-4, class maps equal but at ties."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
import torch
from geo_core import ConfigError
from geo_core.data import ScenePreprocessing
from geo_core.inference import PredictOptions, predict_scene
from geo_core.testing import write_geotiff

pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")
pytest.importorskip("geo_plugin_onnx")
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::FutureWarning")


def test_onnxruntime_engine_matches_torch(tmp_path):
    from geo_core.tasks import SemanticSegmentationTask

    torch.manual_seed(0)
    task = SemanticSegmentationTask(
        model_factory="EncoderDecoderFactory",
        model_args={"backbone": "tiny_cnn", "decoder": "UNetDecoder", "num_classes": 4},
    ).eval()
    src = write_geotiff(tmp_path / "s.tif", bands=6, height=100, width=90, seed=1)
    pre = ScenePreprocessing(means=[0.5] * 6, stds=[0.3] * 6)
    out = {}
    for engine in ("torch", "onnxruntime"):
        for kind in ("probabilities", "prediction"):
            opts = PredictOptions(crop=32, stride=24, batch_size=3, output_kind=kind, engine=engine)
            path = predict_scene(task, src, tmp_path / f"{engine}_{kind}.tif", pre, opts)
            with rasterio.open(path) as ds:
                out[engine, kind] = ds.read()
    p_torch, p_ort = out["torch", "probabilities"], out["onnxruntime", "probabilities"]
    assert np.abs(p_torch - p_ort).max() <= 1e-4
    top2 = np.sort(p_torch, axis=0)[-2:]
    clear = (top2[1] - top2[0]) > 1e-4  # not a tie within the engines' float difference
    assert clear.mean() > 0.99
    np.testing.assert_array_equal(out["torch", "prediction"][0][clear], out["onnxruntime", "prediction"][0][clear])
    with pytest.raises(ConfigError, match="did you mean 'onnxruntime'"):
        predict_scene(task, src, tmp_path / "x.tif", pre, PredictOptions(crop=32, stride=24, engine="onnxruntim"))


def test_torch_runs_on_one_thread_while_onnxruntime_runs_a_scene(tmp_path):
    """Torch's spinning OpenMP workers would take cores from ONNX Runtime's pool; the count comes back after."""
    from geo_core.inference._engines import open_engine
    from geo_core.tasks import SemanticSegmentationTask

    task = SemanticSegmentationTask(
        model_factory="EncoderDecoderFactory",
        model_args={"backbone": "tiny_cnn", "decoder": "UNetDecoder", "num_classes": 2},
    ).eval()
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        opts = PredictOptions(crop=32, stride=32, batch_size=2, engine="onnxruntime")
        with open_engine("onnxruntime", task, "prediction", opts, (6, 32, 32)) as run:
            assert torch.get_num_threads() == 1
            assert run(torch.rand(2, 6, 32, 32)).shape == (2, 32, 32)
        assert torch.get_num_threads() == 2
        with pytest.raises(RuntimeError), open_engine("onnxruntime", task, "prediction", opts, (6, 32, 32)):
            raise RuntimeError("a failing scene")
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
