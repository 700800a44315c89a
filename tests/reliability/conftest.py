"""Shared helpers of the reliability tests: a tiny real segmentation run (tiny_cnn + UNetDecoder on
``make_segmentation_folder`` data read by the datasets plugin) and an in-process CLI runner."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

# rasterio's window transforms use `Affine * Affine`, which affine>=3.1 flags as pending deprecation;
# third-party code we cannot change.
AFFINE_MUL = "ignore:Use `@` matmul instead of `\\*` mul operator:PendingDeprecationWarning"


@pytest.fixture(scope="session")
def seg_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Eight 6-band 32x32 image/mask pairs (read-only: tests copy before corrupting)."""
    from geo_core.testing import make_segmentation_folder

    root = tmp_path_factory.mktemp("segdata")
    make_segmentation_folder(root, n=8, size=32)
    return root


def run_config(data: Path, root: Path, **trainer: Any) -> dict[str, Any]:
    """A complete, valid run config writing under ``root``."""
    return {
        "seed_everything": 0,
        "trainer": {
            "max_epochs": 1,
            "accelerator": "cpu",
            "devices": 1,
            "enable_progress_bar": False,
            "enable_model_summary": False,
            "default_root_dir": str(root),
            "num_sanity_val_steps": 0,
            **trainer,
        },
        "model": {
            "class_path": "SemanticSegmentationTask",
            "init_args": {
                "model_factory": "EncoderDecoderFactory",
                "model_args": {"backbone": "tiny_cnn", "decoder": "UNetDecoder", "num_classes": 2},
                "loss": "ce",
                "lr": 0.01,
            },
        },
        "data": {
            "class_path": "GenericNonGeoSegmentationDataModule",
            "init_args": {
                "batch_size": 4,
                "num_classes": 2,
                "train_data_root": str(data / "images"),
                "train_label_data_root": str(data / "labels"),
                "val_data_root": str(data / "images"),
                "val_label_data_root": str(data / "labels"),
                "test_data_root": str(data / "images"),
                "test_label_data_root": str(data / "labels"),
                "img_grep": "*_img.tif",
                "label_grep": "*_mask.tif",
            },
        },
    }


def write_yaml(path: Path, cfg: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(cfg if isinstance(cfg, str) else yaml.safe_dump(cfg))
    return path


def run_cli(args: list[str]) -> Any:
    """Invoke ``geo`` in-process; exceptions are caught so a traceback shows up in the result."""
    # Lightning's log handler binds the sys.stderr of its first import: import it outside the runner, whose
    # streams are closed after each call (else later log lines print "Logging error" tracebacks).
    import lightning.pytorch  # noqa: F401
    from geo_core.cli._app import app
    from typer.testing import CliRunner

    return CliRunner().invoke(app, args)


def geo_exe() -> str:
    return os.path.join(os.path.dirname(sys.executable), "geo")
