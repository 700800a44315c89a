"""predict_on_catalog, the ``geo zoobot predict`` command, and registry wiring."""

from __future__ import annotations

import json
from pathlib import Path

import geo_core
import pandas as pd
import pytest
import torch
import typer
from geo_core import ConfigError
from geo_plugin_zoobot import finetune, predict_on_catalog
from geo_plugin_zoobot._hooks import geo_cli_commands
from geo_plugin_zoobot.testing import THIRD_PARTY_WARNINGS, TREE_DEPS, TREE_PAIRS
from typer.testing import CliRunner

pytestmark = [pytest.mark.filterwarnings(spec) for spec in THIRD_PARTY_WARNINGS]


def _save(model: torch.nn.Module, path: Path) -> Path:
    """A checkpoint as Lightning writes it, without running a fit."""
    import lightning as L

    trainer = L.Trainer(
        accelerator="cpu",
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        enable_checkpointing=False,
    )
    trainer.strategy.connect(model)
    trainer.save_checkpoint(path)
    return path


def test_classifier_predictions_csv_has_one_row_per_id(png_catalog: Path, tmp_path: Path) -> None:
    model = finetune.FinetuneableZoobotClassifier(name="test_resnet", num_classes=2)
    out = tmp_path / "preds.csv"
    preds = predict_on_catalog.predict(png_catalog, model, out, label_cols=["dark", "bright"], batch_size=5)
    assert preds.shape == (12, 2, 1)
    df = pd.read_csv(out, dtype={"id_str": str})
    assert list(df.columns) == ["id_str", "dark_pred", "bright_pred"]
    assert list(df["id_str"]) == [f"id{i:03d}" for i in range(12)]
    assert (df["dark_pred"] + df["bright_pred"]).round(5).eq(1).all()
    assert not any(p.name.startswith(".preds.csv.tmp") for p in tmp_path.iterdir())  # written atomically


def test_mc_dropout_samples_are_stored_as_lists(png_catalog: Path, tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = finetune.FinetuneableZoobotTree(
        name="test_resnet", question_answer_pairs=TREE_PAIRS, dependencies=TREE_DEPS, head_dropout_prob=0.5
    )
    out = tmp_path / "preds.parquet"
    model.eval()
    preds = predict_on_catalog.predict(png_catalog, model, out, n_samples=3)
    assert preds.shape == (12, 4, 3)
    assert not torch.allclose(torch.from_numpy(preds[..., 0]), torch.from_numpy(preds[..., 1]))
    df = pd.read_parquet(out)
    assert list(df.columns) == [
        "id_str",
        "ring_yes_pred",
        "ring_no_pred",
        "ring-type_inner_pred",
        "ring-type_outer_pred",
    ]
    assert len(json.loads(df.loc[0, "ring_yes_pred"])) == 3
    assert not model.training and not model.head.dropout.training  # the caller's eval mode is restored


def test_predict_rejects_bad_arguments(png_catalog: Path, tmp_path: Path) -> None:
    model = finetune.FinetuneableZoobotRegressor(name="test_resnet")
    with pytest.raises(ConfigError, match="label_cols"):
        predict_on_catalog.predict(png_catalog, model, tmp_path / "p.csv", label_cols=["a", "b"])
    with pytest.raises(ConfigError, match=r"\.csv or \.parquet"):
        predict_on_catalog.predict(png_catalog, model, tmp_path / "p.txt")
    assert not (tmp_path / "p.csv").exists()


def test_cli_predict_from_checkpoint(png_catalog: Path, tmp_path: Path) -> None:
    model = finetune.FinetuneableZoobotRegressor(name="test_resnet", unit_interval=True)
    ckpt = _save(model, tmp_path / "reg.ckpt")
    app = typer.Typer()
    app.command("noop")(lambda: None)
    geo_cli_commands(app)
    out = tmp_path / "preds.csv"
    result = CliRunner().invoke(
        app,
        [
            "zoobot",
            "predict",
            "--catalog",
            str(png_catalog),
            "--checkpoint",
            str(ckpt),
            "--output",
            str(out),
            "--label-cols",
            "brightness",
            "--mean",
            "0.5,0.5,0.5",
            "--std",
            "0.25,0.25,0.25",
        ],
    )
    assert result.exit_code == 0, result.output
    df = pd.read_csv(out)
    assert list(df.columns) == ["id_str", "brightness_pred"] and len(df) == 12
    bad = CliRunner().invoke(
        app,
        [
            "zoobot",
            "predict",
            "--catalog",
            str(png_catalog),
            "--checkpoint",
            str(tmp_path / "none.ckpt"),
            "--output",
            str(out),
        ],
    )
    assert bad.exit_code == 2 and "checkpoint not found" in bad.output


def test_registered_in_tasks_and_datamodules() -> None:
    assert geo_core.TASKS.resolve("FinetuneableZoobotTree") == "zoobot:FinetuneableZoobotTree"
    assert geo_core.TASKS.get("zoobot:FinetuneableZoobotClassifier") is finetune.FinetuneableZoobotClassifier
    assert geo_core.TASKS.info("zoobot:FinetuneableZoobotRegressor").metadata["monitor"] == "finetuning/val_loss"
    from geo_plugin_zoobot import CatalogDataModule

    assert geo_core.DATAMODULES.get("zoobot:CatalogDataModule") is CatalogDataModule
    for name in ("FinetuneableZoobotClassifier", "FinetuneableZoobotRegressor", "FinetuneableZoobotTree"):
        assert geo_core.TASKS.get(f"zoobot:{name}").monitor == "finetuning/val_loss"


def test_top_level_exports() -> None:
    import geo_plugin_zoobot

    assert geo_plugin_zoobot.FinetuneableZoobotTree is finetune.FinetuneableZoobotTree
    assert geo_plugin_zoobot.predict is predict_on_catalog.predict
    assert sorted(geo_plugin_zoobot.__all__) == sorted([*geo_plugin_zoobot._LAZY, "__version__"])
    with pytest.raises(AttributeError):
        geo_plugin_zoobot.nothing_here  # noqa: B018


@pytest.mark.slow
# geo_core's config builder calls jsonargparse's deprecated instantiate_classes path (core's to fix).
@pytest.mark.filterwarnings("ignore:(?s).*JsonargparseDeprecationWarning per type")
@pytest.mark.filterwarnings("ignore:(?s).*instantiate_classes`` was deprecated")
def test_geo_train_config_then_geo_zoobot_predict(png_catalog: Path, tmp_path: Path) -> None:
    """Registry names in a `geo train` YAML config, then the installed `geo zoobot predict` command."""
    import subprocess
    import sys

    import yaml
    from geo_core.cli import app

    run = tmp_path / "run"
    config = {
        "model": {
            "class_path": "FinetuneableZoobotTree",
            "init_args": {"name": "test_resnet", "schema": "gz_rings_schema", "learning_rate": 1e-3},
        },
        "data": {
            "class_path": "zoobot:CatalogDataModule",
            "init_args": {"label_cols": ["ring_yes", "ring_no"], "catalog": str(png_catalog), "batch_size": 4},
        },
        "trainer": {
            "max_epochs": 1,
            "accelerator": "cpu",
            "limit_train_batches": 2,
            "limit_val_batches": 1,
            "enable_progress_bar": False,
            "enable_model_summary": False,
            "log_every_n_steps": 1,
            "default_root_dir": str(run),
        },
    }
    (tmp_path / "cfg.yaml").write_text(yaml.safe_dump(config))
    result = CliRunner().invoke(app, ["train", "--config", str(tmp_path / "cfg.yaml")])
    assert result.exit_code == 0, result.output
    best = sorted((run / "checkpoints").glob("best-*.ckpt"))
    assert best, sorted(run.rglob("*"))
    geo = Path(sys.executable).with_name("geo")
    out = tmp_path / "preds.csv"
    proc = subprocess.run(
        [
            str(geo),
            "zoobot",
            "predict",
            "--catalog",
            str(png_catalog),
            "--checkpoint",
            str(best[0]),
            "--output",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    df = pd.read_csv(out)
    assert list(df.columns) == ["id_str", "ring_yes_pred", "ring_no_pred"] and len(df) == 12


def test_plugin_metadata_conforms() -> None:
    from geo_core.testing import check_plugin_metadata

    found = check_plugin_metadata("zoobot")
    assert found["task"] == [
        "zoobot:FinetuneableZoobotClassifier",
        "zoobot:FinetuneableZoobotRegressor",
        "zoobot:FinetuneableZoobotTree",
    ]
    assert found["datamodule"] == ["zoobot:CatalogDataModule"]
    assert found["loss"] == ["zoobot:dirichlet_multinomial"]
