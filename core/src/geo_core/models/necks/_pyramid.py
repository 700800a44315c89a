"""Necks that turn same-resolution maps (from a ViT) into a feature pyramid."""

from __future__ import annotations

from typing import Literal

import torch.nn.functional as F
from torch import Tensor, nn

from geo_core._contracts import Neck

__all__ = ["InterpolateToPyramidal", "LearnedInterpolateToPyramidal", "MaxpoolToPyramidal"]


def _check_maps(features: list[Tensor], n: int, who: str) -> None:
    if len(features) != n:
        raise ValueError(f"{who} expected {n} features, got {len(features)}")
    for f in features:
        if f.dim() != 4:
            raise ValueError(
                f"{who} expects (B, C, H, W) maps, got shape {tuple(f.shape)}; put ReshapeTokensToImage before it"
            )


class InterpolateToPyramidal(Neck):
    """Resize feature ``i`` of ``n`` by ``scale_factor ** (n - 2 - i)``.

    With four maps at stride 16 and the default ``scale_factor=2`` the
    strides become 4, 8, 16 and 32 (TerraTorch's behaviour).

    Args:
        channel_list: Widths of the incoming maps (unchanged).
        scale_factor: Ratio between neighbouring levels.
        mode: Interpolation mode for upsampling (downsampling uses max pooling).
    """

    def __init__(
        self, channel_list: list[int], scale_factor: int = 2, mode: Literal["nearest", "bilinear"] = "nearest"
    ) -> None:
        super().__init__(channel_list)
        self.scale_factor = int(scale_factor)
        self.mode = mode

    def process_channel_list(self, channel_list: list[int]) -> list[int]:
        """Widths are unchanged."""
        return list(channel_list)

    def forward(self, features: list[Tensor], image_size: tuple[int, int] | None = None) -> list[Tensor]:
        """Resize every map to its pyramid level."""
        _check_maps(features, len(self.channel_list), "InterpolateToPyramidal")
        out = []
        n = len(features)
        for i, x in enumerate(features):
            exp = n - 2 - i
            if exp > 0:
                x = F.interpolate(x, scale_factor=float(self.scale_factor**exp), mode=self.mode)
            elif exp < 0:
                k = self.scale_factor ** (-exp)
                x = F.max_pool2d(x, kernel_size=k, ceil_mode=True)
            out.append(x)
        return out


class LearnedInterpolateToPyramidal(Neck):
    """Learned up/down-sampling of four same-resolution maps to strides x1/4, x1/2, x1, x2.

    Map 0 goes through two stride-2 transposed convolutions (width / 4), map 1
    through one (width / 2), map 2 is kept and map 3 is max-pooled.

    Args:
        channel_list: Widths of exactly four incoming maps.
    """

    def __init__(self, channel_list: list[int]) -> None:
        super().__init__(channel_list)
        if len(channel_list) != 4:
            raise ValueError(
                f"LearnedInterpolateToPyramidal needs exactly 4 features, got {len(channel_list)}; "
                "select four with SelectIndices first"
            )
        c0, c1 = channel_list[0], channel_list[1]
        if c0 < 4 or c1 < 2:
            raise ValueError(f"LearnedInterpolateToPyramidal: widths {channel_list[:2]} are too small to divide")
        self.fpn1 = nn.Sequential(
            nn.ConvTranspose2d(c0, c0 // 2, 2, stride=2),
            nn.BatchNorm2d(c0 // 2),
            nn.GELU(),
            nn.ConvTranspose2d(c0 // 2, c0 // 4, 2, stride=2),
        )
        self.fpn2 = nn.ConvTranspose2d(c1, c1 // 2, 2, stride=2)
        self.fpn3 = nn.Identity()
        self.fpn4 = nn.MaxPool2d(2, ceil_mode=True)

    def process_channel_list(self, channel_list: list[int]) -> list[int]:
        """``[c0 // 4, c1 // 2, c2, c3]``."""
        return [channel_list[0] // 4, channel_list[1] // 2, channel_list[2], channel_list[3]]

    def forward(self, features: list[Tensor], image_size: tuple[int, int] | None = None) -> list[Tensor]:
        """Build the pyramid."""
        _check_maps(features, 4, "LearnedInterpolateToPyramidal")
        return [self.fpn1(features[0]), self.fpn2(features[1]), self.fpn3(features[2]), self.fpn4(features[3])]


class MaxpoolToPyramidal(Neck):
    """Max-pool map ``i`` by ``kernel_size ** i`` (map 0 is kept).

    Args:
        channel_list: Widths of the incoming maps (unchanged).
        kernel_size: Base pooling factor between neighbouring levels.
    """

    def __init__(self, channel_list: list[int], kernel_size: int = 2) -> None:
        super().__init__(channel_list)
        self.kernel_size = int(kernel_size)

    def process_channel_list(self, channel_list: list[int]) -> list[int]:
        """Widths are unchanged."""
        return list(channel_list)

    def forward(self, features: list[Tensor], image_size: tuple[int, int] | None = None) -> list[Tensor]:
        """Pool every map to its level."""
        _check_maps(features, len(self.channel_list), "MaxpoolToPyramidal")
        return [
            x if i == 0 else F.max_pool2d(x, kernel_size=self.kernel_size**i, ceil_mode=True)
            for i, x in enumerate(features)
        ]
