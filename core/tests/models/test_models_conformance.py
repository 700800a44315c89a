"""The conformance sweep: every core decoder over the tiny CNN and the tiny ViT, through geo_core.testing."""

from __future__ import annotations

import geo_core
import pytest
import torch
from geo_core.testing import (
    TinyCNNBackbone,
    TinyDecoder,
    TinyViTBackbone,
    check_backbone,
    check_decoder,
    check_model_factory,
    check_neck,
)

#: Small widths keep the sweep fast; decoders not listed take their defaults.
SMALL = {
    "FCNDecoder": {"channels": 16, "num_convs": 4},
    "UperNetDecoder": {"channels": 16},
    "ASPPSegmentationHead": {"channels": 16},
    "ASPPRegressionHead": {"channels": 16},
    "MLPDecoder": {"channels": 16},
}
CORE_DECODERS = [n.split(":", 1)[1] for n in geo_core.DECODERS.names(source="core")]


def test_core_decoders_are_registered() -> None:
    assert set(CORE_DECODERS) >= {
        "IdentityDecoder",
        "LinearDecoder",
        "FCNDecoder",
        "UNetDecoder",
        "UperNetDecoder",
        "ASPPSegmentationHead",
        "ASPPRegressionHead",
        "MLPDecoder",
    }


@pytest.mark.parametrize("name", CORE_DECODERS)
def test_decoder_conformance(name: str) -> None:
    torch.manual_seed(0)
    check_decoder(name, SMALL.get(name), image_size=(32, 48))


def test_check_decoder_accepts_a_class_and_regression() -> None:
    check_decoder(TinyDecoder, {"channels": 8}, backbones=("cnn",), image_size=(32, 32), task="regression")


@pytest.mark.parametrize("size", [(64, 64), (32, 48)])
def test_tiny_backbones_conform(size: tuple[int, int]) -> None:
    feats = check_backbone(TinyCNNBackbone(in_channels=3), in_chans=3, image_size=size)
    assert [f.shape[-2:] for f in feats] == [torch.Size((size[0] // s, size[1] // s)) for s in (2, 4, 8, 16)]
    toks = check_backbone(TinyViTBackbone(in_channels=3), 3, image_size=size)
    assert all(t.shape == (2, 1 + (size[0] // 8) * (size[1] // 8), 32) for t in toks)


def test_tiny_backbones_from_registry_reject_unknown_kwargs() -> None:
    assert geo_core.BACKBONES.build("tiny_cnn", in_chans=4, pretrained=False).in_channels == 4
    with pytest.raises(TypeError, match="bogus"):  # a typo is never swallowed
        geo_core.BACKBONES.build("tiny_vit", bogus=1)
    with pytest.raises(ValueError, match="no pretrained weights"):
        geo_core.BACKBONES.build("tiny_cnn", pretrained=True)


def test_check_backbone_catches_wrong_widths() -> None:
    bad = TinyCNNBackbone(in_channels=3)
    bad.out_channels = [8, 16, 32, 65]
    with pytest.raises(AssertionError, match="out_channels"):
        check_backbone(bad, 3, image_size=32)


def test_check_neck_catches_a_lying_channel_list() -> None:
    from geo_core.models.necks import SelectIndices

    feats = [torch.zeros(1, 8, 4, 4), torch.zeros(1, 16, 2, 2)]
    neck = SelectIndices([8, 16], indices=[1])
    assert check_neck(neck, [8, 16], feats)[0].shape[1] == 16
    neck.process_channel_list = lambda cl: [8]  # type: ignore[method-assign]
    with pytest.raises(AssertionError, match="process_channel_list"):
        check_neck(neck, [8, 16], feats)


@pytest.mark.parametrize(
    ("task", "kwargs"),
    [
        ("segmentation", {"backbone": "tiny_cnn", "decoder": "UNetDecoder"}),
        ("regression", {"backbone": "tiny_cnn", "decoder": "FCNDecoder", "decoder_channels": 8}),
        ("classification", {"backbone": "tiny_cnn", "decoder": "IdentityDecoder"}),
        (
            "scalar_regression",
            {"backbone": "tiny_vit", "decoder": "IdentityDecoder", "necks": [{"name": "AggregateTokens"}]},
        ),
    ],
)
def test_check_model_factory(task: str, kwargs: dict[str, object]) -> None:
    check_model_factory("EncoderDecoderFactory", task, kwargs, image_size=(32, 32))


def test_tiny_fakes_options() -> None:
    cnn = TinyCNNBackbone(in_channels=2, out_channels=(4, 8, 16), out_indices=[0, -1])
    assert cnn.out_channels == [4, 16] and cnn.strides == [2, 8]
    assert [f.shape[1] for f in cnn(torch.randn(1, 2, 16, 16))] == [4, 16]
    vit = TinyViTBackbone(in_channels=2, patch_size=4, embed_dim=8, depth=3, cls_token=False, out_indices=[-1])
    assert vit.out_channels == [8] and vit(torch.randn(1, 2, 8, 12))[0].shape == (1, 6, 8)
    with pytest.raises(ValueError, match="multiples of patch_size=4"):
        vit(torch.randn(1, 2, 8, 10))
    assert TinyDecoder([4, 16], channels=5)(cnn(torch.randn(1, 2, 16, 16))).shape == (1, 5, 2, 2)


def _conv_model(num_classes: int) -> torch.nn.Module:
    """A whole model from a builder, as FullModelFactory receives it."""
    return torch.nn.Conv2d(6, num_classes, 3, padding=1)


def test_check_model_factory_on_the_full_model_factory() -> None:
    check_model_factory("FullModelFactory", "segmentation", {"model": _conv_model}, image_size=(16, 16))
