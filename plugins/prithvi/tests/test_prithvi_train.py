"""Prithvi inside whole models: EncoderDecoderFactory with the recommended necks, LoRA, and `geo train`."""

from __future__ import annotations

from pathlib import Path

import geo_core
import pytest
import torch
import yaml

# Lightning 2.6 still calls a torch pytree API that torch 2.14 deprecates (FutureWarning inside lightning).
pytestmark = pytest.mark.filterwarnings("ignore:`isinstance\\(treespec, LeafSpec\\)` is deprecated:FutureWarning")

NECKS = [
    {"name": "SelectIndices", "indices": [0, 1, 2, 3]},
    {"name": "ReshapeTokensToImage", "effective_time_dim": 1},
    {"name": "LearnedInterpolateToPyramidal"},
]


@pytest.mark.parametrize("decoder", ["UNetDecoder", "UperNetDecoder"])
def test_multitemporal_tl_segmentation_model_with_recommended_necks(decoder: str) -> None:
    necks = [dict(n) for n in NECKS]
    necks[1]["effective_time_dim"] = 2
    factory = geo_core.MODEL_FACTORIES.build("EncoderDecoderFactory")
    model = factory.build_model(
        "segmentation",
        backbone="prithvi:prithvi_eo_v2_tiny_tl",
        backbone_num_frames=2,
        backbone_depth=4,
        decoder=decoder,
        necks=necks,
        num_classes=3,
    )
    x = torch.randn(2, 6, 2, 32, 48)
    tc = torch.tensor([[[2020.0, 1.0], [2020.0, 30.0]]] * 2)
    out = model(x, temporal_coords=tc, location_coords=torch.zeros(2, 2)).output
    assert out.shape == (2, 3, 32, 48)
    out.mean().backward()


def test_lora_through_the_factory_peft_config() -> None:
    pytest.importorskip("peft")
    factory = geo_core.MODEL_FACTORIES.build("EncoderDecoderFactory")
    model = factory.build_model(
        "segmentation",
        backbone="prithvi:prithvi_eo_tiny",
        decoder="UNetDecoder",
        necks=NECKS,
        num_classes=2,
        peft_config={"method": "LORA", "peft_config_kwargs": {"target_modules": ["qkv", "mlp.fc1", "mlp.fc2"], "r": 4}},
    )
    trainable = [n for n, p in model.encoder.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n for n in trainable)
    assert len(trainable) == 4 * 3 * 2
    model(torch.randn(1, 6, 32, 32)).output.mean().backward()


# geo_core.runs._config calls jsonargparse's instantiate_classes, deprecated in jsonargparse 4.49 (core's
# code, not this plugin's; reported to its owner).
@pytest.mark.filterwarnings("ignore::jsonargparse._deprecated.JsonargparseDeprecationWarning")
def test_geo_train_end_to_end_with_the_tiny_variant(tmp_path: Path) -> None:
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
                "model_factory": "EncoderDecoderFactory",
                "model_args": {
                    "backbone": "prithvi:prithvi_eo_tiny",
                    "backbone_depth": 4,
                    "backbone_bands": ["BLUE", "GREEN", "RED", "NIR_NARROW", "SWIR_1", "SWIR_2"],
                    "necks": NECKS,
                    "decoder": "UNetDecoder",
                    "num_classes": 2,
                },
                "loss": "ce",
                "lr": 0.001,
            },
        },
        "data": {
            "class_path": "geo_core.testing._datamodules.TinyGeoDataModule",
            "init_args": {"num_samples": 4, "size": 32, "batch_size": 2, "extra_keys": ["location_coords"]},
        },
    }
    path = tmp_path / "prithvi_tiny.yaml"
    path.write_text(yaml.safe_dump(cfg))
    res = CliRunner().invoke(app, ["train", "--config", str(path)], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    ckpts = list((tmp_path / "run").rglob("*.ckpt"))
    assert ckpts, f"no checkpoint written under {tmp_path / 'run'}: {res.output}"
    task = torch.load(sorted(ckpts)[0], map_location="cpu", weights_only=False)
    assert any(k.endswith("encoder.blocks.0.attn.qkv.weight") for k in task["state_dict"])
