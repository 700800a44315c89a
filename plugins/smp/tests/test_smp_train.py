"""End to end: `geo train` fits an SMPModelFactory model with an smp loss on synthetic data."""

from pathlib import Path

import pytest
import yaml

# Lightning 2.6 still calls a torch pytree API that torch 2.14 deprecates (FutureWarning inside lightning).
pytestmark = pytest.mark.filterwarnings("ignore:`isinstance\\(treespec, LeafSpec\\)` is deprecated:FutureWarning")


def test_geo_train_with_an_smp_model(tmp_path: Path) -> None:
    from geo_core.cli._app import app
    from typer.testing import CliRunner

    cfg = {
        "trainer": {
            "max_epochs": 1,
            "accelerator": "cpu",
            "devices": 1,
            "enable_progress_bar": False,
            "enable_model_summary": False,
            "default_root_dir": str(tmp_path / "run"),
            "num_sanity_val_steps": 0,
        },
        "model": {
            "class_path": "SemanticSegmentationTask",
            "init_args": {
                "model_factory": "smp:SMPModelFactory",
                "model_args": {
                    "arch": "Unet",
                    "backbone": "tu-test_efficientnet",
                    "in_channels": 6,
                    "num_classes": 2,
                    "decoder_channels": [16, 8, 8, 8, 8],
                },
                "loss": "smp:dice",
                "lr": 0.01,
            },
        },
        "data": {
            "class_path": "geo_core.testing.TinyGeoDataModule",
            "init_args": {"num_samples": 4, "size": 32, "bands": 6, "batch_size": 2},
        },
    }
    path = tmp_path / "smp.yaml"
    path.write_text(yaml.safe_dump(cfg))
    res = CliRunner().invoke(app, ["train", "-c", str(path)], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert (tmp_path / "run" / "checkpoints" / "last.ckpt").is_file()
    metrics = list((tmp_path / "run" / "logs").glob("version_*/metrics.csv"))
    assert metrics and "val/loss" in metrics[0].read_text()
