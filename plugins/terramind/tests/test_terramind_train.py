"""TerraMind inside whole models: every core decoder and smp decoders through the token necks, and one
training step fed by the datasets plugin's multimodal datamodule."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geo_core
import numpy as np
import pytest
import torch

NECKS = [
    {"name": "SelectIndices", "indices": [0, 1, 2, 3]},
    {"name": "ReshapeTokensToImage", "remove_cls_token": False},
    {"name": "LearnedInterpolateToPyramidal"},
]
DECODERS: list[tuple[str, dict[str, Any]]] = [
    ("UNetDecoder", {"channels": [16, 8, 8, 8]}),
    ("UperNetDecoder", {"channels": 16}),
    ("FCNDecoder", {"channels": 16}),
    ("ASPPSegmentationHead", {"channels": 8, "dilations": (1, 2)}),
    ("smp:Unet", {"decoder_channels": [16, 8, 8, 8, 8]}),
    ("smp:UPerNet", {"decoder_channels": 16}),
]


def _x(h: int = 32, w: int = 48) -> dict[str, torch.Tensor]:
    return {"S2L2A": torch.randn(2, 12, h, w), "S1GRD": torch.randn(2, 2, h, w)}


@pytest.mark.parametrize(("decoder", "kwargs"), DECODERS, ids=[d for d, _ in DECODERS])
def test_every_decoder_composes_through_the_token_necks(decoder: str, kwargs: dict[str, Any]) -> None:
    if decoder.startswith("smp:") and decoder not in geo_core.DECODERS:
        pytest.skip("geo-plugin-smp is not installed")
    factory = geo_core.MODEL_FACTORIES.build("EncoderDecoderFactory")
    model = factory.build_model(
        "segmentation",
        backbone="terramind:test_terramind_v1",
        backbone_modalities=["S2L2A", "S1GRD"],
        backbone_merge_method="concat",
        necks=NECKS,
        decoder=decoder,
        decoder_kwargs=kwargs,
        num_classes=3,
    )
    out = model(_x(30, 48)).output  # 30 rows: padded to 32 for the 16-px patches, cropped back
    assert out.shape == (2, 3, 30, 48)
    out.mean().backward()
    assert model.encoder.encoder_embeddings["untok_sen1grd@224"].proj.weight.grad is not None


def test_classification_pools_the_tokens() -> None:
    factory = geo_core.MODEL_FACTORIES.build("EncoderDecoderFactory")
    model = factory.build_model(
        "classification",
        backbone="terramind:test_terramind_v1",
        backbone_modalities=["S2L2A", "S1GRD"],
        necks=[{"name": "SelectIndices", "indices": [-1]}, {"name": "ReshapeTokensToImage", "remove_cls_token": False}],
        decoder="IdentityDecoder",
        num_classes=4,
    )
    assert model(_x()).output.shape == (2, 4)


# Lightning 2.6 still calls a torch pytree API that torch 2.14 deprecates (FutureWarning inside lightning);
# rasterio's from_origin uses `Affine * Affine`, which affine>=3.1 flags (third-party code).
@pytest.mark.filterwarnings("ignore:`isinstance\\(treespec, LeafSpec\\)` is deprecated:FutureWarning")
@pytest.mark.filterwarnings("ignore:Use `@` matmul instead of `\\*` mul operator:PendingDeprecationWarning")
def test_one_training_step_from_the_multimodal_datamodule(tmp_path: Path) -> None:
    pytest.importorskip("geo_plugin_datasets")
    import lightning.pytorch as pl
    from geo_core.tasks import SemanticSegmentationTask
    from geo_core.testing import write_geotiff

    rng = np.random.default_rng(0)
    for k in ("a", "b", "c", "d"):
        write_geotiff(tmp_path / "s2" / f"{k}_s2.tif", rng.random((12, 32, 32), dtype=np.float32))
        write_geotiff(tmp_path / "lbl" / f"{k}.tif", (rng.random((32, 32)) > 0.5).astype(np.uint8))
        if k != "d":  # d lacks S1: zero-filled by the datamodule
            write_geotiff(tmp_path / "s1" / f"{k}_s1.tif", rng.random((2, 32, 32), dtype=np.float32))
    dm = geo_core.DATAMODULES.build(
        "datasets:GenericMultiModalDataModule",
        batch_size=2,
        modalities=["S2L2A", "S1GRD"],
        train_data_root={"S2L2A": tmp_path / "s2", "S1GRD": tmp_path / "s1"},
        train_label_data_root=tmp_path / "lbl",
        val_data_root={"S2L2A": tmp_path / "s2", "S1GRD": tmp_path / "s1"},
        val_label_data_root=tmp_path / "lbl",
        image_grep={"S2L2A": "*_s2.tif", "S1GRD": "*_s1.tif"},
        label_grep="*.tif",
        num_classes=2,
        allow_missing_modalities=True,
    )
    task = SemanticSegmentationTask(
        model_factory="EncoderDecoderFactory",
        model_args={
            "backbone": "terramind:test_terramind_v1",
            "backbone_modalities": ["S2L2A", "S1GRD"],
            "backbone_merge_method": "mean",
            "necks": NECKS,
            "decoder": "UNetDecoder",
            "decoder_channels": [16, 8, 8, 8],
            "num_classes": 2,
        },
    )
    trainer = pl.Trainer(
        max_steps=1,
        limit_val_batches=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=tmp_path,
        accelerator="cpu",
    )
    before = task.model.encoder.encoder_embeddings["untok_sen1grd@224"].proj.weight.detach().clone()
    trainer.fit(task, datamodule=dm)
    assert trainer.global_step == 1
    assert not torch.equal(before, task.model.encoder.encoder_embeddings["untok_sen1grd@224"].proj.weight)
