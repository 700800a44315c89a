"""export_onnx on a core U-Net, an smp model and Prithvi (fixed size), checked with onnxruntime."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from geo_plugin_onnx import ExportReport, export_onnx

from .conftest import build, run_onnx

PRITHVI_NECKS = [
    {"name": "SelectIndices", "indices": [0, 0, 1, 1]},  # a depth-2 encoder gives two layers
    {"name": "ReshapeTokensToImage", "effective_time_dim": 1},
    {"name": "LearnedInterpolateToPyramidal"},
]


def _torch(model: torch.nn.Module, x: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return model(torch.from_numpy(x)).output.numpy()


def test_core_unet_exports_with_dynamic_batch_and_size(tmp_path):
    model = build("EncoderDecoderFactory", backbone="tiny_cnn", decoder="UNetDecoder", num_classes=3)
    report = export_onnx(model, tmp_path / "unet.onnx", (1, 6, 64, 64))
    assert isinstance(report, ExportReport) and report.path == tmp_path / "unet.onnx"
    assert report.dynamic_axes == {0: "batch", 2: "height", 3: "width"}
    assert report.fixed_size_reason is None and report.size_multiple == 1
    assert report.checked_shapes == [(1, 6, 64, 64), (2, 6, 96, 128)]  # checked at two sizes
    assert report.max_abs_diff is not None and report.max_abs_diff < 1e-4
    assert sorted(p.name for p in tmp_path.iterdir()) == ["unet.onnx"]  # nothing left behind
    # any size, also one the model must pad (16 does not divide 70 or 90): the graph pads like the model
    x = np.random.default_rng(0).standard_normal((3, 6, 70, 90), dtype=np.float32)
    got = run_onnx(report.path, x)
    assert got.shape == (3, 3, 70, 90)
    assert np.abs(got - _torch(model, x)).max() < 1e-4
    assert "dynamic axes: batch (axis 0), height (axis 2), width (axis 3)" in report.summary()


def test_smp_unet_exports_dynamically(tmp_path):
    pytest.importorskip("geo_plugin_smp")
    model = build(
        "smp:SMPModelFactory",
        arch="Unet",
        backbone="resnet18",
        in_channels=4,
        num_classes=2,
        encoder_depth=3,
        decoder_channels=[32, 16, 8],
    )
    report = export_onnx(model, tmp_path / "smp.onnx", (1, 4, 32, 32))
    assert report.dynamic_axes == {0: "batch", 2: "height", 3: "width"}
    assert report.size_multiple == model.divisor  # smp needs multiples and does not pad
    assert report.max_abs_diff is not None and report.max_abs_diff < 1e-3
    x = np.random.default_rng(1).standard_normal((2, 4, 64, 32), dtype=np.float32)
    assert np.abs(run_onnx(report.path, x) - _torch(model, x)).max() < 1e-3


def test_prithvi_falls_back_to_a_fixed_size_and_says_why(tmp_path):
    pytest.importorskip("geo_plugin_prithvi")
    model = build(
        "EncoderDecoderFactory",
        backbone="prithvi:prithvi_eo_tiny",
        backbone_depth=2,
        backbone_img_size=32,
        necks=PRITHVI_NECKS,
        decoder="UNetDecoder",
        num_classes=2,
    )
    report = export_onnx(model, tmp_path / "prithvi.onnx", (1, 6, 32, 32))
    assert report.dynamic_axes == {}
    assert report.fixed_size_reason and "dynamic" in report.fixed_size_reason
    assert report.checked_shapes == [(1, 6, 32, 32)]
    assert report.max_abs_diff is not None and report.max_abs_diff < 1e-4
    assert "fixed input shape (" in report.summary()
    x = np.random.default_rng(2).standard_normal((1, 6, 32, 32), dtype=np.float32)
    assert np.abs(run_onnx(report.path, x) - _torch(model, x)).max() < 1e-4


def test_static_export_of_a_task_keeps_its_training_mode(tmp_path):
    from geo_core.tasks import SemanticSegmentationTask

    torch.manual_seed(0)
    task = SemanticSegmentationTask(
        model_factory="EncoderDecoderFactory",
        model_args={"backbone": "tiny_cnn", "decoder": "UNetDecoder", "num_classes": 2},
    )
    task.train()
    report = export_onnx(task, tmp_path / "sub" / "task.onnx", [2, 6, 32, 32], dynamic=False, check=False)
    assert report.path.is_file() and report.dynamic_axes == {} and report.max_abs_diff is None
    assert report.fixed_size_reason is None and task.training and task.model.training
    x = np.random.default_rng(3).standard_normal((2, 6, 32, 32), dtype=np.float32)
    assert np.abs(run_onnx(report.path, x) - _torch(task.model.eval(), x)).max() < 1e-4


def test_prithvi_exports_at_a_size_other_than_its_img_size(tmp_path):
    pytest.importorskip("geo_plugin_prithvi")
    model = build(
        "EncoderDecoderFactory",
        backbone="prithvi:prithvi_eo_tiny",
        backbone_depth=2,
        necks=PRITHVI_NECKS,
        decoder="UNetDecoder",
        num_classes=2,
    )  # position embedding for 224x224
    report = export_onnx(model, tmp_path / "prithvi.onnx", (1, 6, 32, 32))
    assert report.dynamic_axes == {} and report.max_abs_diff is not None and report.max_abs_diff < 1e-4


def test_large_models_keep_weights_in_a_data_file_beside_the_graph(tmp_path, monkeypatch):
    import geo_plugin_onnx._onnx as onnx_mod

    monkeypatch.setattr(onnx_mod, "_EXTERNAL_DATA_BYTES", 0)  # treat the tiny model as one above 2 GiB
    model = build("EncoderDecoderFactory", backbone="tiny_cnn", decoder="UNetDecoder", num_classes=2)
    report = export_onnx(model, tmp_path / "big.onnx", (1, 6, 32, 32), dynamic=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.onnx", "big.onnx.data"]
    x = np.random.default_rng(4).standard_normal((1, 6, 32, 32), dtype=np.float32)
    assert np.abs(run_onnx(report.path, x) - _torch(model, x)).max() < 1e-4


def test_plugin_metadata_and_cli_hook() -> None:
    from geo_core.testing import check_plugin_metadata

    check_plugin_metadata("onnx")
