from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest
import yaml

# Lightning 2.6 still calls a torch pytree API that torch 2.14 deprecates (FutureWarning inside lightning).
LIGHTNING_PYTREE = "ignore:`isinstance\\(treespec, LeafSpec\\)` is deprecated:FutureWarning"

CUSTOM = textwrap.dedent('''
    """Test components loaded through custom_modules_path."""
    import os
    import signal

    import lightning.pytorch as pl

    import geo_core
    from geo_core.testing._datamodules import TinyGeoDataModule


    @geo_core.DATAMODULES.register(name="MarkedDataModule")
    class MarkedDataModule(TinyGeoDataModule):
        """Touches $GEO_TEST_MARKER when constructed (proves whether anything was built)."""

        def __init__(self, **kwargs):
            marker = os.environ.get("GEO_TEST_MARKER")
            if marker:
                open(marker, "a").close()
            super().__init__(**kwargs)


    class KillAt(pl.Callback):
        """SIGKILL the process when epoch ``epoch`` starts (simulates a crash)."""

        def __init__(self, epoch: int = 1):
            self.epoch = epoch

        def on_train_epoch_start(self, trainer, pl_module):
            if trainer.current_epoch == self.epoch:
                os.kill(os.getpid(), signal.SIGKILL)
''')


@pytest.fixture(scope="session")
def custom_module(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("custom") / "geo_test_components.py"
    p.write_text(CUSTOM)
    return p


def base_config(root: Path, custom: Path, **data_args) -> dict:
    return {
        "custom_modules_path": str(custom),
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
            "class_path": "SemanticSegmentationTask",
            "init_args": {
                "model_factory": "EncoderDecoderFactory",
                "model_args": {"backbone": "tiny_cnn", "decoder": "UNetDecoder", "num_classes": 2},
                "loss": "ce",
                "lr": 0.01,
            },
        },
        "data": {
            "class_path": "MarkedDataModule",
            "init_args": {"num_samples": 8, "size": 32, "batch_size": 4, **data_args},
        },
    }


@pytest.fixture
def write_config(tmp_path, custom_module):
    def write(cfg: dict | None = None, name: str = "seg.yaml") -> Path:
        p = tmp_path / name
        p.write_text(yaml.safe_dump(cfg if cfg is not None else base_config(tmp_path, custom_module)))
        return p

    return write


def run_cli(args: list[str]):
    from geo_core.cli._app import app
    from typer.testing import CliRunner

    return CliRunner().invoke(app, args, catch_exceptions=False)


@pytest.fixture
def marker(tmp_path, monkeypatch) -> Path:
    m = tmp_path / "built.marker"
    monkeypatch.setenv("GEO_TEST_MARKER", str(m))
    return m


def geo_exe() -> str:
    import sys

    return os.path.join(os.path.dirname(sys.executable), "geo")
