"""ReshapeTokensToImage takes effective_time_dim from a multi-frame backbone when the config omits it."""

from __future__ import annotations

import geo_core
import torch
from torch import nn


class FrameTokens(nn.Module):
    """(B, C, T, H, W) -> one (B, 1 + T*h*w, D) token tensor, declaring effective_time_dim = T."""

    def __init__(self, frames: int = 3, dim: int = 8) -> None:
        super().__init__()
        self.embed = nn.Conv3d(6, dim, kernel_size=(1, 8, 8), stride=(1, 8, 8))
        self.cls = nn.Parameter(torch.zeros(1, 1, dim))
        self.out_channels = [dim]
        self.effective_time_dim = frames

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        t = self.embed(x).flatten(2).transpose(1, 2)
        return [torch.cat([self.cls.expand(t.shape[0], -1, -1), t], dim=1)]


def _neck(model):
    from geo_core.models.necks._tokens import ReshapeTokensToImage

    return next(m for m in model.modules() if isinstance(m, ReshapeTokensToImage))


def test_time_dim_filled_from_backbone():
    factory = geo_core.MODEL_FACTORIES.build("EncoderDecoderFactory")
    model = factory.build_model(
        "segmentation",
        backbone=FrameTokens(frames=3),
        decoder="FCNDecoder",
        necks=[{"name": "ReshapeTokensToImage"}],
        num_classes=2,
    )
    assert _neck(model).effective_time_dim == 3
    out = model(torch.randn(2, 6, 3, 32, 32)).output
    assert out.shape == (2, 2, 32, 32)


def test_explicit_time_dim_wins():
    factory = geo_core.MODEL_FACTORIES.build("EncoderDecoderFactory")
    model = factory.build_model(
        "segmentation",
        backbone=FrameTokens(frames=3),
        decoder="FCNDecoder",
        necks=[{"name": "ReshapeTokensToImage", "effective_time_dim": 1}],
        num_classes=2,
    )
    assert _neck(model).effective_time_dim == 1
