"""Every head served on mmcv-lite x a tiny CNN and a tiny ViT (through necks): forward, backward, shape.

Complements ``test_mmseg_factory.py`` (``geo_core.testing.check_decoder`` inside whole models):
here the ViT maps stay on the patch grid (ReshapeTokensToImage only) for the heads made for it,
and every decoder parameter must receive a gradient.
"""

from __future__ import annotations

from typing import Any

import geo_core
import pytest
import torch
from geo_core.testing import TinyCNNBackbone, TinyViTBackbone
from geo_plugin_mmseg import COMPILED_HEADS, LITE_HEADS
from torch import nn


def _mmseg_decoders(compiled: bool) -> list[str]:
    names = geo_core.DECODERS.names(source="mmseg")
    return [n for n in names if bool(geo_core.DECODERS.info(n).metadata.get("needs_compiled_mmcv")) == compiled]


LITE = _mmseg_decoders(compiled=False)
# Heads made for ViT patch grids (same-resolution maps); the others get a pyramid from a neck too.
VIT_HEADS = {"SegmenterMaskTransformerHead", "SETRUPHead", "SETRMLAHead", "DPTHead"}


def test_registered_heads_match_the_documented_lists() -> None:
    assert sorted(n.split(":")[1] for n in LITE) == sorted(LITE_HEADS)
    assert sorted(n.split(":")[1] for n in _mmseg_decoders(compiled=True)) == sorted(COMPILED_HEADS)
    for name in LITE:
        assert geo_core.DECODERS.info(name).metadata["includes_head"] is True


class _Encoder(nn.Module):
    """A backbone followed by necks, as the model factory would chain them."""

    def __init__(self, kind: str, head: str) -> None:
        super().__init__()
        self.necks = nn.ModuleList()
        if kind == "cnn":
            self.backbone: nn.Module = TinyCNNBackbone(in_channels=3)
            channels = list(self.backbone.out_channels)
        else:
            self.backbone = TinyViTBackbone(in_channels=3, img_size=32, embed_dim=16, depth=4)
            channels = list(self.backbone.out_channels)
            necks = ["ReshapeTokensToImage"] + ([] if head in VIT_HEADS else ["InterpolateToPyramidal"])
            for name in necks:
                neck = geo_core.NECKS.build(name, channels)
                channels = neck.process_channel_list(channels)
                self.necks.append(neck)
        self.channel_list = channels

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        feats = self.backbone(x)
        for neck in self.necks:
            feats = neck(feats, image_size=tuple(x.shape[-2:]))
        return feats  # type: ignore[no-any-return]


def _grads_ok(decoder: nn.Module, head: str, unused: dict[str, tuple[str, ...]]) -> None:
    skip = unused.get(head, ())
    missing = [n for n, p in decoder.named_parameters() if p.grad is None and not n.startswith(skip)]
    assert not missing, f"parameters without gradient: {missing}"


@pytest.mark.parametrize("backbone", ["cnn", "vit"])
@pytest.mark.parametrize("name", LITE)
def test_head_forward_backward(
    name: str, backbone: str, tiny: dict[str, dict[str, Any]], unused_params: dict[str, tuple[str, ...]]
) -> None:
    head = name.split(":")[1]
    torch.manual_seed(0)
    encoder = _Encoder(backbone, head)
    decoder = geo_core.DECODERS.build(name, encoder.channel_list, num_classes=3, **tiny[head])
    assert type(decoder).includes_head is True
    assert decoder.out_channels == 3
    x = torch.randn(2, 3, 32, 48) if backbone == "vit" else torch.randn(2, 3, 32, 32)
    out = decoder(encoder(x))
    assert out.dim() == 4 and out.shape[:2] == (2, 3) and min(out.shape[-2:]) >= 1
    assert torch.isfinite(out).all()
    out.square().mean().backward()
    _grads_ok(decoder, head, unused_params)
    assert any(p.grad is not None for p in encoder.parameters())
    decoder.eval()
    with torch.no_grad():
        assert decoder(encoder(x)).shape == out.shape


def test_segmenter_refuses_regression(tiny: dict[str, dict[str, Any]]) -> None:
    with pytest.raises(geo_core.ConfigError, match="num_classes=1"):
        geo_core.DECODERS.build(
            "mmseg:SegmenterMaskTransformerHead", [16], num_classes=1, **tiny["SegmenterMaskTransformerHead"]
        )


def test_auxiliary_fcn_head_on_the_second_last_map(pyramid: Any) -> None:
    channels, feats = pyramid
    aux = geo_core.DECODERS.build(
        "mmseg:FCNHead", channels, num_classes=4, in_index=-2, channels=8, num_convs=1, concat_input=False
    )
    assert aux.positions == [2]
    assert aux.mmseg_config["in_channels"] == 32
    assert aux(feats).shape == (2, 4, 4, 4)
