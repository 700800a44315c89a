"""TerraTorch behaviours of the factory: token backbones without necks, learned upscaling, freeze_head."""

from __future__ import annotations

import pytest
import torch
from geo_core import ConfigError
from geo_core.models import EncoderDecoderFactory
from geo_core.testing import TinyViTBackbone
from torch import nn


def test_token_backbone_without_neck_is_reshaped_for_a_conv_decoder() -> None:
    model = EncoderDecoderFactory().build_model(
        "segmentation",
        backbone="tiny_vit",
        decoder="UNetDecoder",
        num_classes=2,
        backbone_in_channels=3,
        decoder_channels=[32, 16, 8, 4],
    )
    assert model(torch.zeros(1, 3, 32, 48)).output.shape == (1, 2, 32, 48)
    # classification heads pool tokens themselves: no neck is added
    clf = EncoderDecoderFactory().build_model(
        "classification", backbone="tiny_vit", decoder="IdentityDecoder", num_classes=3, backbone_in_channels=3
    )
    assert len(clf.necks.necks) == 0 and clf(torch.zeros(2, 3, 32, 32)).output.shape == (2, 3)


class _Undeclared(TinyViTBackbone):
    """Returns tokens but does not say so."""

    def __init__(self, **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        del self.output_format


def test_undeclared_token_backbone_gets_an_error_naming_the_neck() -> None:
    model = EncoderDecoderFactory().build_model(
        "segmentation", backbone=_Undeclared(in_channels=3), decoder="FCNDecoder", num_classes=2
    )
    with pytest.raises(ConfigError, match="ReshapeTokensToImage"):
        model(torch.zeros(1, 3, 32, 32))


def test_learned_upscale_layers_and_dotted_final_act() -> None:
    model = EncoderDecoderFactory().build_model(
        "regression",
        backbone="tiny_cnn",
        decoder="IdentityDecoder",
        backbone_in_channels=3,
        head_learned_upscale_layers=2,
        head_final_act="torch.nn.ReLU",
        rescale=False,
    )
    out = model(torch.randn(2, 3, 64, 64)).output
    assert out.shape == (2, 16, 16)  # stride-16 features upscaled 4x
    assert (out >= 0).all()
    assert sum(isinstance(m, nn.PixelShuffle) for m in model.head.modules()) == 2


def test_freeze_head_freezes_only_the_head() -> None:
    from geo_core.tasks import SemanticSegmentationTask

    task = SemanticSegmentationTask(
        model_factory="EncoderDecoderFactory",
        freeze_head=True,
        model_args={"backbone": "tiny_cnn", "decoder": "UNetDecoder", "num_classes": 2, "backbone_in_channels": 3},
    )
    assert not any(p.requires_grad for p in task.model.head.parameters())
    assert all(p.requires_grad for p in task.model.decoder.parameters())
