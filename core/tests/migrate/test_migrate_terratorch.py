"""`geo migrate terratorch` on TerraTorch-style configs written for this test."""

from __future__ import annotations

import textwrap

import yaml
from geo_core._migrate import migrate_terratorch
from geo_core.cli._app import app
from typer.testing import CliRunner

TT_CONFIG = textwrap.dedent("""
    seed_everything: 0
    trainer:
      max_epochs: 2
      callbacks:
        - class_path: lightning.pytorch.callbacks.EarlyStopping
          init_args: {monitor: val/loss}
        - class_path: terratorch.callbacks.SomeTerraTorchCallback
    data:
      class_path: terratorch.datamodules.GenericNonGeoSegmentationDataModule
      init_args: {batch_size: 4, num_classes: 2}
    model:
      class_path: terratorch.tasks.SemanticSegmentationTask
      init_args:
        model_factory: EncoderDecoderFactory
        model_args:
          backbone: terratorch_tiny_cnn
          backbone_pretrained: false
          necks:
            - {name: SelectIndices, indices: [0, 1, 2, 3]}
          decoder: UNetDecoder
          decoder_channels: [32, 16, 8, 4]
          num_classes: 2
        loss: ce
        ignore_index: -1
""")


def test_migration_maps_names_and_reports_the_rest():
    new, report = migrate_terratorch(yaml.safe_load(TT_CONFIG))
    assert new["model"]["class_path"] == "SemanticSegmentationTask"
    assert new["model"]["init_args"]["model_args"]["backbone"] == "tiny_cnn"
    assert new["model"]["init_args"]["model_args"]["decoder"] == "UNetDecoder"
    assert new["data"]["class_path"] == "GenericNonGeoSegmentationDataModule"
    assert new["trainer"]["callbacks"][0]["class_path"] == "lightning.pytorch.callbacks.EarlyStopping"
    assert any("SomeTerraTorchCallback" in u for u in report.unmapped)
    assert "model_args.backbone: terratorch_tiny_cnn -> tiny_cnn" in report.changes
    # untouched keys survive
    assert new["model"]["init_args"]["ignore_index"] == -1
    assert new["model"]["init_args"]["model_args"]["decoder_channels"] == [32, 16, 8, 4]


def test_prefixed_names_become_qualified_ids():
    cfg = {
        "model": {
            "class_path": "terratorch.tasks.ClassificationTask",
            "init_args": {
                "model_factory": "PrithviModelFactory",
                "model_args": {"backbone": "timm_resnet50", "decoder": "smp_Unet"},
            },
        }
    }
    new, report = migrate_terratorch(cfg)
    margs = new["model"]["init_args"]["model_args"]
    assert margs["backbone"] == "timm:resnet50"
    assert margs["decoder"] == "smp:Unet"
    assert new["model"]["init_args"]["model_factory"] == "EncoderDecoderFactory"
    assert any("PrithviModelFactory" in n for n in report.notes)


def test_unknown_task_is_reported():
    new, report = migrate_terratorch({"model": {"class_path": "terratorch.tasks.WeirdTask"}})
    assert new["model"]["class_path"] == "terratorch.tasks.WeirdTask"
    assert any("WeirdTask has no geo equivalent" in u for u in report.unmapped)


def test_cli_writes_output_and_strict_exit(tmp_path):
    src = tmp_path / "tt.yaml"
    src.write_text(TT_CONFIG)
    out = tmp_path / "geo.yaml"
    res = CliRunner().invoke(app, ["migrate", "terratorch", str(src), "--output", str(out)])
    assert res.exit_code == 0, res.output
    assert yaml.safe_load(out.read_text())["model"]["class_path"] == "SemanticSegmentationTask"
    assert "NOT MAPPED" in res.output
    res = CliRunner().invoke(app, ["migrate", "terratorch", str(src), "--strict"])
    assert res.exit_code == 1
    res = CliRunner().invoke(app, ["migrate", "terratorch", str(tmp_path / "missing.yaml")])
    assert res.exit_code == 2 and "no such file" in res.output
    (tmp_path / "bad.yaml").write_text("model: [unclosed")
    res = CliRunner().invoke(app, ["migrate", "terratorch", str(tmp_path / "bad.yaml")])
    assert res.exit_code == 2 and "not valid YAML" in res.output
