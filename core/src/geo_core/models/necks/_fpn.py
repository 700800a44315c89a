"""Necks that add learned layers on top of a pyramid."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from geo_core._contracts import Neck

__all__ = ["FeaturePyramidNetworkNeck", "AddBottleneckLayer"]


class FeaturePyramidNetworkNeck(Neck):
    """A feature pyramid network (Lin et al. 2017): every level becomes ``out_channel`` wide.

    Lateral 1x1 convolutions, a top-down pathway adding the upsampled coarser
    level, then a 3x3 convolution per level. Pure PyTorch.

    Args:
        channel_list: Widths of the incoming maps, finest first.
        out_channel: Width of every output level (TerraTorch's name).
    """

    def __init__(self, channel_list: list[int], out_channel: int = 256) -> None:
        super().__init__(channel_list)
        self.out_channel = int(out_channel)
        self.lateral = nn.ModuleList(nn.Conv2d(c, out_channel, 1) for c in channel_list)
        self.smooth = nn.ModuleList(nn.Conv2d(out_channel, out_channel, 3, padding=1) for _ in channel_list)

    def process_channel_list(self, channel_list: list[int]) -> list[int]:
        """Every level has ``out_channel`` channels."""
        return [self.out_channel] * len(channel_list)

    def forward(self, features: list[Tensor], image_size: tuple[int, int] | None = None) -> list[Tensor]:
        """Fuse the pyramid top-down."""
        if len(features) != len(self.lateral):
            raise ValueError(f"FeaturePyramidNetworkNeck expected {len(self.lateral)} features, got {len(features)}")
        lat = [conv(f) for conv, f in zip(self.lateral, features, strict=True)]
        for i in range(len(lat) - 2, -1, -1):
            lat[i] = lat[i] + F.interpolate(lat[i + 1], size=lat[i].shape[-2:], mode="nearest")
        return [conv(x) for conv, x in zip(self.smooth, lat, strict=True)]


class AddBottleneckLayer(Neck):
    """Append one more level: the last map through a 1x1 convolution halving its width.

    Args:
        channel_list: Widths of the incoming maps.
    """

    def __init__(self, channel_list: list[int]) -> None:
        super().__init__(channel_list)
        if channel_list[-1] < 2:
            raise ValueError(f"AddBottleneckLayer: last width {channel_list[-1]} cannot be halved")
        self.bottleneck = nn.Conv2d(channel_list[-1], channel_list[-1] // 2, kernel_size=1)

    def process_channel_list(self, channel_list: list[int]) -> list[int]:
        """``channel_list + [channel_list[-1] // 2]``."""
        return [*channel_list, channel_list[-1] // 2]

    def forward(self, features: list[Tensor], image_size: tuple[int, int] | None = None) -> list[Tensor]:
        """Return the features plus the bottleneck level."""
        return [*features, self.bottleneck(features[-1])]
