"""Clay in whole models: every core decoder and an smp decoder behind the token necks, metadata routed
from the batch, and one training step through a task."""

from __future__ import annotations

import geo_core
import pytest
import torch

# Lightning 2.6 still calls a torch pytree API that torch 2.14 deprecates (FutureWarning inside lightning).
pytestmark = pytest.mark.filterwarnings("ignore:`isinstance\\(treespec, LeafSpec\\)` is deprecated:FutureWarning")

NECKS = [
    {"name": "SelectIndices", "indices": [0, 1, 1, 1]},
    {"name": "ReshapeTokensToImage", "remove_cls_token": True},
    {"name": "LearnedInterpolateToPyramidal"},
]
DECODERS = {
    "UNetDecoder": {"channels": [16, 8, 8, 8]},
    "UperNetDecoder": {"channels": 16},
    "FCNDecoder": {"channels": 16},
    "ASPPSegmentationHead": {"channels": 16},
    "smp:Unet": {"decoder_channels": [16, 8, 8, 8, 8]},
}


@pytest.mark.parametrize("decoder", sorted(DECODERS))
def test_composes_with_decoders_behind_the_token_necks(decoder: str) -> None:
    if decoder.startswith("smp:") and decoder not in geo_core.DECODERS:
        pytest.skip("geo-plugin-smp is not installed")
    factory = geo_core.MODEL_FACTORIES.build("EncoderDecoderFactory")
    model = factory.build_model(
        "segmentation",
        backbone="clay:clay_test",
        necks=[dict(n) for n in NECKS],
        decoder=decoder,
        decoder_kwargs=DECODERS[decoder],
        num_classes=3,
    )
    out = model(torch.randn(2, 6, 32, 48)).output
    assert out.shape == (2, 3, 32, 48)
    out.mean().backward()
    assert model.encoder.patch_embedding.weight_generator.fc_weight.weight.grad is not None


def test_batch_metadata_reaches_the_backbone() -> None:
    factory = geo_core.MODEL_FACTORIES.build("EncoderDecoderFactory")
    torch.manual_seed(0)
    model = factory.build_model(
        "classification", backbone="clay:clay_test", decoder="IdentityDecoder", num_classes=2
    ).eval()
    x = torch.randn(2, 6, 16, 16)
    with torch.no_grad():
        plain = model(x).output
        moved = model(x, time=torch.ones(2, 4), latlon=torch.ones(2, 4), gsd=10.0, other_key=1).output
    assert not torch.allclose(plain, moved)


def test_one_training_step_through_the_segmentation_task() -> None:
    from geo_core.tasks import SemanticSegmentationTask
    from geo_core.testing import check_task

    task = SemanticSegmentationTask(
        model_factory="EncoderDecoderFactory",
        model_args={
            "backbone": "clay:clay_test",
            "backbone_bands": ["blue", "green", "red", "nir", "swir16", "swir22"],
            "necks": [dict(n) for n in NECKS],
            "decoder": "FCNDecoder",
            "decoder_channels": 16,
            "num_classes": 2,
        },
        loss="ce",
        lr=1e-3,
    )
    before = task.model.encoder.cls_token.detach().clone()
    trainer = check_task(task, size=16)  # one fit step (and a validation batch)
    assert trainer.global_step == 1
    assert not torch.equal(before, task.model.encoder.cls_token)
