"""`geo migrate terratorch` (geo-plugin-migrate): every key converted or reported, on configs written for this test."""

from __future__ import annotations

import textwrap

import pytest
import typer
import yaml
from geo_plugin_migrate import migrate_terratorch
from geo_plugin_migrate._hooks import geo_cli_commands
from typer.testing import CliRunner

app = typer.Typer()
geo_cli_commands(app)  # the verb as `geo` adds it at start-up, on an app of its own

TT_CONFIG = textwrap.dedent("""
    seed_everything: 0
    trainer:
      max_epochs: 2
      callbacks:
        - class_path: lightning.pytorch.callbacks.EarlyStopping
          init_args: {monitor: val/loss}
        - class_path: terratorch.callbacks.SomeTerraTorchCallback
        - class_path: StateDictAwareModelCheckpoint
          init_args: {filename: "{epoch}_state_dict", save_weights_only: true}
      logger:
        class_path: TensorBoardLogger
        init_args: {save_dir: out}
      default_root_dir: out
    data:
      class_path: terratorch.datamodules.GenericNonGeoSegmentationDataModule
      init_args:
        batch_size: 4
        num_classes: 2
        dataset_bands: [0, BLUE, GREEN, RED, 1, 2]
        output_bands: [RED, 2]
        no_such_option: 3
        train_transform:
          - class_path: albumentations.pytorch.transforms.ToTensorV2
          - class_path: terratorch.datasets.transforms.FlattenTemporalIntoChannels
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
          head_activation: torch.nn.GELU
          num_classes: 2
        loss: ce
        ignore_index: -1
        output_most_probable: false
        freeze_head: true
        tiled_inference_parameters: {h_crop: 64, h_stride: 48, w_crop: 64, w_stride: 32, average_patches: true}
    optimizer:
      class_path: torch.optim.AdamW
      init_args: {lr: 0.001, weight_decay: 0.05}
    lr_scheduler:
      class_path: ReduceLROnPlateau
      init_args: {monitor: val/mIoU, factor: 0.5, patience: 3, mode: max}
    out_dtype: float32
""")


@pytest.fixture(scope="module")
def migrated():
    return migrate_terratorch(yaml.safe_load(TT_CONFIG))


def test_names_class_paths_and_untouched_keys(migrated):
    new, report = migrated
    init = new["model"]["init_args"]
    assert new["model"]["class_path"] == "SemanticSegmentationTask"
    assert new["data"]["class_path"] == "GenericNonGeoSegmentationDataModule"
    assert init["model_args"]["backbone"] == "tiny_cnn"
    assert "model.init_args.model_args.backbone: terratorch_tiny_cnn -> tiny_cnn" in report.changes
    assert init["ignore_index"] == -1 and init["model_args"]["decoder_channels"] == [32, 16, 8, 4]
    assert init["model_args"]["head_activation"] == "GELU"


def test_optimizer_and_scheduler_move_into_the_task(migrated):
    new, _ = migrated
    init = new["model"]["init_args"]
    assert (init["optimizer"], init["lr"], init["optimizer_hparams"]) == ("AdamW", 0.001, {"weight_decay": 0.05})
    assert init["scheduler"] == "ReduceLROnPlateau"
    assert init["scheduler_hparams"] == {"monitor": "val/mIoU", "factor": 0.5, "patience": 3, "mode": "max"}
    assert "optimizer" not in new and "lr_scheduler" not in new


def test_task_arguments(migrated):
    new, _ = migrated
    init = new["model"]["init_args"]
    assert init["output_on_inference"] == "probabilities" and "output_most_probable" not in init
    assert init["freeze_head"] is True
    assert init["tiled_inference_parameters"] == {"crop": 64, "stride": 32}
    assert new["predict"] == {"crop": 64, "stride": 32}


def test_callbacks_loggers_and_bands(migrated):
    new, _ = migrated
    cbs = new["trainer"]["callbacks"]
    assert [c["class_path"] for c in cbs] == [
        "lightning.pytorch.callbacks.EarlyStopping",
        "geo_core.tasks._callbacks.StateDictAwareModelCheckpoint",
    ]
    assert cbs[1]["init_args"]["dirpath"] == "out/checkpoints"
    assert new["trainer"]["logger"]["class_path"] == "TensorBoardLogger"
    data = new["data"]["init_args"]
    assert data["output_bands"] == ["RED", 5]  # the placeholder named 2 sits at position 5
    assert data["train_transform"] == [{"class_path": "ToTensorV2"}]
    assert "no_such_option" not in data


def test_every_unmapped_key_is_named_with_a_suggestion(migrated):
    _, report = migrated
    text = "\n".join(report.unmapped)
    for path in (
        "trainer.callbacks[1]",
        "data.init_args.no_such_option",
        "data.init_args.train_transform[1]",
        "out_dtype",
    ):
        assert path in text
    assert all(" — " in u for u in report.unmapped)
    assert len(report.unmapped) == 4, report.unmapped


def test_prithvi_factory_writes_backbone_args_and_necks():
    cfg = {
        "model": {
            "class_path": "terratorch.tasks.PixelwiseRegressionTask",
            "init_args": {
                "model_factory": "PrithviModelFactory",
                "model_args": {
                    "backbone": "prithvi_eo_tiny",
                    "in_channels": 6,
                    "num_frames": 3,
                    "bands": ["BLUE", "GREEN", "RED", "NIR_NARROW", "SWIR_1", "SWIR_2"],
                    "backbone_drop_path_rate": 0.2,
                    "decoder": "FCNDecoder",
                    "head_final_act": "torch.nn.ReLU",
                    "head_learned_upscale_layers": 2,
                },
            },
        }
    }
    new, report = migrate_terratorch(cfg)
    margs = new["model"]["init_args"]["model_args"]
    assert new["model"]["init_args"]["model_factory"] == "EncoderDecoderFactory"
    assert margs["backbone_pretrained"] is True  # PrithviModelFactory's default
    assert margs["backbone_num_frames"] == 3 and margs["backbone_in_chans"] == 6
    assert margs["backbone_drop_path"] == 0.2 and "backbone_drop_path_rate" not in margs
    assert margs["necks"] == [
        {"name": "SelectIndices", "indices": [0, 1, 2, 3]},
        {"name": "ReshapeTokensToImage", "effective_time_dim": 3},
    ]
    assert margs["head_final_act"] == "ReLU" and margs["head_learned_upscale_layers"] == 2
    assert report.unmapped == []


def test_prithvi_factory_implies_no_token_necks_for_a_swin_backbone():
    # Prithvi Swin returns image-like maps: ReshapeTokensToImage would fail on them.
    cfg = {
        "model": {
            "class_path": "terratorch.tasks.PixelwiseRegressionTask",
            "init_args": {
                "model_factory": "PrithviModelFactory",
                "model_args": {"backbone": "prithvi_swin_B", "in_channels": 6, "decoder": "UperNetDecoder"},
            },
        }
    }
    new, report = migrate_terratorch(cfg)
    margs = new["model"]["init_args"]["model_args"]
    assert "necks" not in margs
    assert any("image-like feature maps" in n for n in report.notes)
    assert report.unmapped == []


def test_timm_factory_and_unknown_head_argument():
    cfg = {
        "model": {
            "class_path": "terratorch.tasks.ClassificationTask",
            "init_args": {
                "model_factory": "TimmModelFactory",
                "model_args": {
                    "backbone": "test_vit",
                    "in_channels": 4,
                    "num_classes": 3,
                    "backbone_pretrain_img_size": 64,
                },
            },
        }
    }
    new, _ = migrate_terratorch(cfg)
    init = new["model"]["init_args"]
    assert init["model_factory"] == "timm:TimmModelFactory"
    assert init["model_args"] == {"backbone": "test_vit", "in_chans": 4, "num_classes": 3, "backbone_img_size": 64}
    bad = {
        "model": {
            "class_path": "SemanticSegmentationTask",
            "init_args": {
                "model_args": {"backbone": "tiny_cnn", "decoder": "UNetDecoder", "head_dropuot": 0.1, "num_classes": 2}
            },
        }
    }
    _, report = migrate_terratorch(bad)
    assert any("head_dropuot" in u and "head_dropout" in u for u in report.unmapped), report.unmapped


def test_reconstruction_task_arguments():
    cfg = {
        "model": {
            "class_path": "terratorch.tasks.ReconstructionTask",
            "init_args": {
                "model_factory": "FullModelFactory",
                "model_args": {"model": "prithvi_eo_tiny_mae", "pretrained": False},
                "loss": "mse",
                "freeze_encoder": True,
                "freeze_decoder": False,
                "masked_metric": True,
            },
        },
        "optimizer": {"class_path": "torch.optim.AdamW", "init_args": {"lr": 1e-4}},
    }
    new, report = migrate_terratorch(cfg)
    init = new["model"]["init_args"]
    assert init == {
        "model": "prithvi_eo_tiny_mae",
        "model_args": {"pretrained": False},
        "freeze_encoder": True,
        "freeze_decoder": False,
        "optimizer": "AdamW",
        "lr": 1e-4,
    }
    assert report.unmapped == []


def test_generic_unet_factory_becomes_encoder_decoder():
    cfg = {
        "model": {
            "class_path": "SemanticSegmentationTask",
            "init_args": {
                "model_factory": "GenericUnetModelFactory",
                "model_args": {
                    "backbone": "UNet",
                    "in_channels": 6,
                    "backbone_base_channels": 8,
                    "decoder": "ASPPSegmentationHead",
                    "decoder_in_channels": 8,
                    "decoder_num_classes": 2,
                    "head_dropout": 0.5,
                    "num_classes": 2,
                },
            },
        }
    }
    new, report = migrate_terratorch(cfg)
    margs = new["model"]["init_args"]["model_args"]
    assert new["model"]["init_args"]["model_factory"] == "EncoderDecoderFactory"
    assert margs == {
        "backbone": "UNet",
        "backbone_base_channels": 8,
        "decoder": "ASPPSegmentationHead",
        "num_classes": 2,
        "backbone_in_channels": 6,
    }
    assert report.unmapped == [] and any("head_dropout" in n for n in report.notes)


def test_names_geo_registers_under_terratorch_spelling_pass_through():
    import geo_core
    from geo_core.testing import TinyCNNBackbone

    geo_core.BACKBONES.register(TinyCNNBackbone, name="terramind_v1_test_only")
    try:
        cfg = {
            "model": {
                "class_path": "SemanticSegmentationTask",
                "init_args": {
                    "model_args": {"backbone": "terramind_v1_test_only", "decoder": "UNetDecoder", "num_classes": 2}
                },
            }
        }
        new, report = migrate_terratorch(cfg)
    finally:
        geo_core.BACKBONES.unregister("terramind_v1_test_only")
    assert new["model"]["init_args"]["model_args"]["backbone"] == "terramind_v1_test_only"
    assert report.unmapped == [] and report.changes == []


def test_embedding_generation_task():
    cfg = {
        "model": {
            "class_path": "terratorch.tasks.EmbeddingGenerationTask",
            "init_args": {
                "model": "prithvi_eo_tiny",
                "model_args": {"pretrained": False},
                "output_format": "parquet",
                "embed_file_key": "filename",
                "layers": [-1],
                "embedding_pooling": "vit_mean",
                "has_cls": True,
                "output_dir": "emb",
            },
        }
    }
    new, report = migrate_terratorch(cfg)
    assert new["model"]["init_args"] == {
        "backbone": "prithvi_eo_tiny",
        "backbone_args": {"pretrained": False},
        "output_format": "parquet",
        "layers": [-1],
        "pooling": "mean",
        "output_dir": "emb",
    }
    assert report.unmapped == []


def test_unknown_task_is_reported():
    new, report = migrate_terratorch({"model": {"class_path": "terratorch.tasks.WeirdTask"}})
    assert new["model"]["class_path"] == "terratorch.tasks.WeirdTask"
    assert any("WeirdTask has no geo equivalent" in u for u in report.unmapped)


def test_cli_writes_output_lists_unmapped_and_strict_exits_1(tmp_path):
    src = tmp_path / "tt.yaml"
    src.write_text(TT_CONFIG)
    out = tmp_path / "geo.yaml"
    res = CliRunner().invoke(app, ["migrate", "terratorch", "-c", str(src), "-o", str(out)])
    assert res.exit_code == 0, res.output
    text = out.read_text()
    assert "# NOT MAPPED (left out of this config):" in text and "out_dtype" in text
    assert "NOT MAPPED: data.init_args.no_such_option" in res.output
    assert yaml.safe_load(text)["model"]["class_path"] == "SemanticSegmentationTask"
    res = CliRunner().invoke(app, ["migrate", "terratorch", str(src), "--strict", "-o", str(tmp_path / "x.yaml")])
    assert res.exit_code == 1
    assert src.read_text() == TT_CONFIG  # the input is never touched
