"""Decoder and head details the conformance sweep does not reach."""

from __future__ import annotations

import doctest
import importlib

import pytest
import torch
from geo_core.models import ClassificationHead, RegressionHead, SegmentationHead
from geo_core.models.decoders import (
    ASPPRegressionHead,
    ASPPSegmentationHead,
    FCNDecoder,
    IdentityDecoder,
    LinearDecoder,
    MLPDecoder,
    UNetDecoder,
    UperNetDecoder,
)
from torch import nn

PYRAMID = [torch.randn(2, c, s, s) for c, s in [(4, 16), (8, 8), (16, 4), (32, 2)]]
WIDTHS = [4, 8, 16, 32]


def test_includes_head_flags() -> None:
    assert LinearDecoder.includes_head and ASPPSegmentationHead.includes_head and ASPPRegressionHead.includes_head
    for cls in (IdentityDecoder, MLPDecoder, FCNDecoder, UNetDecoder, UperNetDecoder):
        assert cls.includes_head is False


def test_identity_and_linear_out_index() -> None:
    assert IdentityDecoder(WIDTHS, out_index=1)(PYRAMID) is PYRAMID[1]
    assert IdentityDecoder(WIDTHS, out_index=-2).out_channels == 16
    assert LinearDecoder(WIDTHS, num_classes=5, in_index=0)(PYRAMID).shape == (2, 5, 16, 16)
    assert LinearDecoder(WIDTHS, num_classes=5, upsampling_size=4)(PYRAMID).shape == (2, 5, 8, 8)
    with pytest.raises(ValueError, match="out of range"):
        IdentityDecoder(WIDTHS, out_index=4)


def test_mlp_decoder_maps_tokens_and_vectors() -> None:
    dec = MLPDecoder([6], channels=5, num_layers=3, activation="GELU", dropout=0.1)
    assert dec([torch.randn(2, 6, 3, 3)]).shape == (2, 5, 3, 3)
    assert dec([torch.randn(2, 6)]).shape == (2, 5)
    assert dec([torch.randn(2, 7, 6)]).shape == (2, 7, 5)
    assert MLPDecoder([6], channels=5, out_dim=3)([torch.randn(2, 6, 3, 3)]).shape == (2, 3, 3, 3)
    with pytest.raises(ValueError, match="num_layers"):
        MLPDecoder([6], num_layers=0)


def test_fcn_decoder_upsamples_by_two_per_block() -> None:
    assert FCNDecoder(WIDTHS, channels=4, num_convs=2)(PYRAMID).shape == (2, 4, 8, 8)
    assert FCNDecoder(WIDTHS, channels=4, num_convs=1, in_index=0)(PYRAMID).shape == (2, 4, 32, 32)
    with pytest.raises(ValueError, match="num_convs"):
        FCNDecoder(WIDTHS, num_convs=0)


def test_unet_decoder_widths_and_resolution() -> None:
    dec = UNetDecoder(WIDTHS, channels=[16, 8, 8, 4])
    assert dec.out_channels == 4 and dec(PYRAMID).shape == (2, 4, 32, 32)
    assert UNetDecoder(WIDTHS).out_channels == 4
    with pytest.raises(ValueError, match="one width per feature"):
        UNetDecoder(WIDTHS, channels=[8, 8])


def test_unet_decoder_handles_odd_sizes() -> None:
    feats = [torch.randn(1, 4, 13, 9), torch.randn(1, 8, 7, 5), torch.randn(1, 16, 4, 3)]
    assert UNetDecoder([4, 8, 16])(feats).shape == (1, 4, 26, 18)


def test_upernet_scale_modules_builds_the_pyramid_itself() -> None:
    flat = [torch.randn(2, 8, 4, 6) for _ in range(4)]
    dec = UperNetDecoder([8] * 4, channels=8, scale_modules=True, pool_scales=(1, 2))
    assert dec(flat).shape == (2, 8, 16, 24)
    with pytest.raises(ValueError, match="exactly 4"):
        UperNetDecoder([8] * 3, scale_modules=True)
    assert UperNetDecoder(WIDTHS, channels=8, align_corners=True)(PYRAMID).shape == (2, 8, 16, 16)


def test_aspp_heads() -> None:
    seg = ASPPSegmentationHead(WIDTHS, num_classes=3, dilations=(1, 2), channels=8, in_index=2)
    assert seg(PYRAMID).shape == (2, 3, 4, 4)
    reg = ASPPRegressionHead(WIDTHS, channels=8)
    assert reg.out_channels == 1 and reg(PYRAMID).shape == (2, 1, 2, 2)
    assert isinstance(reg.dropout, nn.Identity) and isinstance(seg.dropout, nn.Dropout2d)
    terratorch_style = ASPPSegmentationHead(
        WIDTHS, num_classes=2, channels=None, head_dropout_ratio=0.3, in_channels=32, dilations=(1, 2)
    )
    assert terratorch_style.dropout.p == 0.3 and terratorch_style(PYRAMID).shape == (2, 2, 2, 2)
    with pytest.raises(ValueError, match="in_channels=16"):
        ASPPRegressionHead(WIDTHS, in_channels=16)


def test_heads() -> None:
    x = torch.randn(2, 8, 4, 4)
    h = SegmentationHead(8, 3, channel_list=[6, 5], dropout=0.2, activation="SiLU")
    assert h(x).shape == (2, 3, 4, 4) and sum(isinstance(m, nn.SiLU) for m in h.modules()) == 2
    assert RegressionHead(8, final_act="ReLU")(x).min() >= 0
    c = ClassificationHead(8, 4, dim_list=[6], dropout=0.1)
    assert c(x).shape == (2, 4) and c(torch.randn(2, 5, 8)).shape == (2, 4) and c(torch.randn(2, 8)).shape == (2, 4)
    with pytest.raises(ValueError, match="not both"):
        ClassificationHead(8, 4, channel_list=[6], dim_list=[6])
    with pytest.raises(ValueError, match="2-, 3- or 4-D"):
        c(torch.randn(2, 8, 1, 1, 1))


@pytest.mark.parametrize(
    "module",
    [
        "geo_core.models._encoder_decoder",
        "geo_core.models._full",
        "geo_core.models._state",
        "geo_core.models._layers",
        "geo_core.models.necks._select",
        "geo_core.testing._fakes",
    ],
)
def test_docstring_examples(module: str) -> None:
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0
