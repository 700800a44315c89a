"""TerraTorch-format configs (written for this suite) migrate with ``--strict`` and then run.

Each config goes through ``geo migrate terratorch --strict`` (no key left unmapped), then
``geo train`` runs one training batch and one validation batch, and ``geo test`` one test
batch, on the session's synthetic GeoTIFFs. What each config covers is in its header.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from geo_core.cli._app import _register_plugin_commands, app
from typer.testing import CliRunner

_register_plugin_commands()  # `geo` does this at start-up: `geo migrate` (geo-plugin-migrate), `geo stats` (datasets)

CONFIGS = Path(__file__).parent / "configs"
#: one batch of each stage
RUN_OVERRIDES = [
    "trainer.max_epochs=1",
    "trainer.limit_train_batches=1",
    "trainer.limit_val_batches=1",
    "trainer.limit_test_batches=1",
    "trainer.num_sanity_val_steps=0",
    "trainer.enable_model_summary=false",
]


def _materialise(name: str, data: Path, out: Path) -> Path:
    text = (CONFIGS / name).read_text().replace("${DATA}", str(data)).replace("${OUT}", str(out / "run"))
    path = out / name
    path.write_text(text)
    return path


def migrate(name: str, data: Path, out: Path, *extra: str) -> tuple[Path, Any]:
    """``geo migrate terratorch --strict`` the config; return the geo config path and the CLI result."""
    src = _materialise(name, data, out)
    dst = out / f"geo_{name}"
    res = CliRunner().invoke(app, ["migrate", "terratorch", str(src), "-o", str(dst), "--strict", *extra])
    return dst, res


def run_all_stages(config: Path) -> dict[str, float]:
    """Train one batch (+ one validation batch), then test one batch; return the test metrics."""
    from geo_core import runs

    trainer = runs.train(config, RUN_OVERRIDES)
    assert trainer.global_step == 1
    results = trainer.test(trainer.lightning_module, datamodule=trainer.datamodule, verbose=False)
    assert results and "test/loss" in results[0]
    return results[0]


CASES = sorted(p.name for p in CONFIGS.glob("*.yaml"))


@pytest.mark.parametrize("name", CASES)
def test_config_migrates_strictly_and_runs(name: str, compat_data: Path, tmp_path: Path) -> None:
    geo_cfg, res = migrate(name, compat_data, tmp_path)
    assert res.exit_code == 0, res.output
    assert "NOT MAPPED" not in res.output
    run_all_stages(geo_cfg)


def test_cli_runs_migrated_config_with_terratorch_flags(compat_data: Path, tmp_path: Path) -> None:
    """``geo fit -c`` (TerraTorch's verb and flag) trains the migrated config from YAML transforms."""
    geo_cfg, res = migrate("prithvi_factory_segmentation.yaml", compat_data, tmp_path)
    assert res.exit_code == 0, res.output
    res = CliRunner().invoke(app, ["fit", "-c", str(geo_cfg), *RUN_OVERRIDES])
    assert res.exit_code == 0, res.output
    ckpts = sorted(p.name for p in (tmp_path / "run").rglob("*.ckpt"))
    assert any("state_dict" in c for c in ckpts) and any("state_dict" not in c for c in ckpts), ckpts
    full = next(p for p in (tmp_path / "run").rglob("*.ckpt") if "state_dict" not in p.name)
    res = CliRunner().invoke(app, ["test", "-c", str(geo_cfg), "--ckpt_path", str(full), *RUN_OVERRIDES])
    assert res.exit_code == 0, res.output
    out = tmp_path / "preds"
    res = CliRunner().invoke(
        app,
        [
            "predict",
            "-c",
            str(geo_cfg),
            "--ckpt_path",
            str(full),
            "--predict_output_dir",
            str(out),
            "--data.init_args.predict_data_root",
            str(compat_data / "cls" / "a"),
        ],
    )
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in out.glob("*.tif")) == ["c1_pred.tif", "c3_pred.tif"]


def test_tensorboard_logger_without_tensorboard_names_the_extra(
    compat_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a, **k: None if name in ("tensorboard", "tensorboardX") else real(name, *a, **k),
    )
    geo_cfg, res = migrate("vit_no_neck_patch13.yaml", compat_data, tmp_path)
    assert res.exit_code == 0, res.output
    res = CliRunner().invoke(app, ["train", "-c", str(geo_cfg), "trainer.logger={class_path: TensorBoardLogger}"])
    assert res.exit_code == 2
    assert "TensorBoardLogger needs tensorboard" in res.output and "pip install 'geo-core[tensorboard]'" in res.output


def test_migrated_config_is_written_into_the_config(compat_data: Path, tmp_path: Path) -> None:
    """PrithviModelFactory's arguments and implied necks, optimizer and scheduler land in the YAML."""
    geo_cfg, res = migrate("prithvi_multitemporal_regression.yaml", compat_data, tmp_path)
    assert res.exit_code == 0, res.output
    cfg = yaml.safe_load(geo_cfg.read_text())
    init = cfg["model"]["init_args"]
    margs = init["model_args"]
    assert init["model_factory"] == "EncoderDecoderFactory"
    assert margs["backbone_num_frames"] == 2 and margs["backbone_pretrained"] is False
    assert margs["necks"] == [
        {"name": "SelectIndices", "indices": [0, 1, 2, 3]},
        {"name": "ReshapeTokensToImage", "effective_time_dim": 2},
    ]
    assert margs["head_final_act"] == "ReLU"
    assert (init["optimizer"], init["lr"], init["scheduler"]) == ("Adam", 1.0e-3, "CosineAnnealingLR")
    assert init["scheduler_hparams"] == {"T_max": 10}
    assert "optimizer" not in cfg and "lr_scheduler" not in cfg


def test_compute_statistics_reads_a_migrated_config(compat_data: Path, tmp_path: Path) -> None:
    """TerraTorch's ``compute_statistics`` verb is ``geo stats``."""
    geo_cfg, res = migrate("prithvi_factory_segmentation.yaml", compat_data, tmp_path)
    assert res.exit_code == 0, res.output
    out = tmp_path / "stats.yaml"
    res = CliRunner().invoke(app, ["compute_statistics", "-c", str(geo_cfg), "-o", str(out), "--no-progress"])
    assert res.exit_code == 0, res.output
    stats = yaml.safe_load(out.read_text())
    assert len(stats["means"]) == 6 and stats["file_count"] == 4
