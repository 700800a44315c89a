"""End to end: `geo train` with mmseg heads on synthetic data (segmentation + aux head, regression)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest
import yaml
from geo_core.cli import app
from typer.testing import CliRunner

# Lightning 2.6 calls a torch pytree API that torch 2.14 deprecates (a FutureWarning raised inside lightning).
pytestmark = pytest.mark.filterwarnings("ignore:`isinstance\\(treespec, LeafSpec\\)` is deprecated:FutureWarning")


def _config(root: Path, task: str, model_args: dict[str, Any], **task_args: Any) -> Path:
    cfg = {
        "trainer": {
            "max_epochs": 1,
            "accelerator": "cpu",
            "devices": 1,
            "enable_progress_bar": False,
            "enable_model_summary": False,
            "default_root_dir": str(root / "run"),
            "num_sanity_val_steps": 0,
        },
        "model": {
            "class_path": task,
            "init_args": {"model_factory": "EncoderDecoderFactory", "model_args": model_args, "lr": 0.01, **task_args},
        },
        "data": {
            "class_path": "geo_core.testing.TinyGeoDataModule",
            "init_args": {
                "task": "segmentation" if task == "SemanticSegmentationTask" else "regression",
                "num_samples": 4,
                "size": 32,
                "batch_size": 4,
            },
        },
    }
    path = root / "config.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _train(config: Path) -> dict[str, str]:
    result = CliRunner().invoke(app, ["train", "--config", str(config)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    run = config.parent / "run"
    assert (run / "checkpoints" / "last.ckpt").is_file()
    with next(run.glob("logs/*/metrics.csv")).open() as f:
        rows = list(csv.DictReader(f))
    merged: dict[str, str] = {}
    for row in rows:
        merged.update({k: v for k, v in row.items() if v})
    return merged


def test_geo_train_segmentation_with_mmseg_head_and_aux_fcn(tmp_path: Path) -> None:
    model_args = {
        "backbone": "tiny_cnn",
        "decoder": "mmseg:UPerHead",
        "decoder_channels": 8,
        "decoder_pool_scales": [1, 2],
        "num_classes": 2,
        "aux_decoders": [
            {
                "name": "aux_fcn",
                "decoder": "mmseg:FCNHead",
                "decoder_args": {
                    "decoder_in_index": -2,
                    "decoder_channels": 8,
                    "decoder_num_convs": 1,
                    "decoder_concat_input": False,
                },
            }
        ],
    }
    metrics = _train(_config(tmp_path, "SemanticSegmentationTask", model_args, loss="ce", aux_loss={"aux_fcn": 0.4}))
    assert "train/loss_aux/aux_fcn" in metrics and "val/mIoU" in metrics


def test_geo_train_pixelwise_regression_with_mmseg_head(tmp_path: Path) -> None:
    model_args = {"backbone": "tiny_cnn", "decoder": "mmseg:SegformerHead", "decoder_channels": 8}
    metrics = _train(_config(tmp_path, "PixelwiseRegressionTask", model_args, loss="mse"))
    assert any(k.startswith("val/") for k in metrics)
