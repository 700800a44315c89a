"""UPerNet decoder: pyramid pooling on the coarsest map, FPN fusion of all levels."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from geo_core.models._layers import conv_bn_act

__all__ = ["UperNetDecoder", "PyramidPooling"]


class PyramidPooling(nn.Module):
    """PSPNet pyramid pooling: pooled branches upsampled and concatenated with the input, then fused.

    The pooled branches have no BatchNorm, so training with batch size 1 works.
    """

    def __init__(self, c_in: int, channels: int, pool_scales: Sequence[int]) -> None:
        super().__init__()
        self.branches = nn.ModuleList(
            nn.Sequential(nn.AdaptiveAvgPool2d(s), nn.Conv2d(c_in, channels, 1), nn.ReLU(inplace=True))
            for s in pool_scales
        )
        self.fuse = conv_bn_act(c_in + len(pool_scales) * channels, channels)

    def forward(self, x: Tensor) -> Tensor:
        size = x.shape[-2:]
        outs = [x] + [F.interpolate(b(x), size=size, mode="bilinear", align_corners=False) for b in self.branches]
        return self.fuse(torch.cat(outs, dim=1))  # type: ignore[no-any-return]


class UperNetDecoder(nn.Module):
    """UPerNet (Xiao et al. 2018) over a feature pyramid, finest first.

    Args:
        channel_list: Widths of the incoming maps.
        channels: Width of the fused output (``out_channels``).
        pool_scales: Output sizes of the pyramid-pooling branches.
        scale_modules: For four same-resolution ViT maps: upsample the first
            two (x4, x2, learned) and max-pool the last, building the pyramid
            inside the decoder (alternative to a pyramid neck).
        align_corners: Passed to the bilinear interpolations of the fusion.
    """

    includes_head = False

    def __init__(
        self,
        channel_list: list[int],
        channels: int = 256,
        pool_scales: Sequence[int] = (1, 2, 3, 6),
        scale_modules: bool = False,
        align_corners: bool = False,
    ) -> None:
        super().__init__()
        self.scale_modules = scale_modules
        self.align_corners = align_corners
        if scale_modules:
            if len(channel_list) != 4:
                raise ValueError(f"UperNetDecoder: scale_modules needs exactly 4 features, got {len(channel_list)}")
            c0, c1 = channel_list[0], channel_list[1]
            self.fpn1 = nn.Sequential(
                nn.ConvTranspose2d(c0, c0, 2, stride=2),
                nn.BatchNorm2d(c0),
                nn.GELU(),
                nn.ConvTranspose2d(c0, c0, 2, stride=2),
            )
            self.fpn2 = nn.ConvTranspose2d(c1, c1, 2, stride=2)
            self.fpn4 = nn.MaxPool2d(2, ceil_mode=True)
        self.ppm = PyramidPooling(channel_list[-1], channels, pool_scales)
        self.lateral = nn.ModuleList(conv_bn_act(c, channels, 1) for c in channel_list[:-1])
        self.fpn_convs = nn.ModuleList(conv_bn_act(channels, channels) for _ in channel_list[:-1])
        self.bottleneck = conv_bn_act(len(channel_list) * channels, channels)
        self.out_channels = int(channels)

    def forward(self, features: list[Tensor]) -> Tensor:
        """Fuse the pyramid at the finest level's resolution."""
        feats = list(features)
        if self.scale_modules:
            feats = [self.fpn1(feats[0]), self.fpn2(feats[1]), feats[2], self.fpn4(feats[3])]
        lat = [conv(f) for conv, f in zip(self.lateral, feats[:-1], strict=True)]
        lat.append(self.ppm(feats[-1]))
        for i in range(len(lat) - 1, 0, -1):
            lat[i - 1] = lat[i - 1] + F.interpolate(
                lat[i], size=lat[i - 1].shape[-2:], mode="bilinear", align_corners=self.align_corners
            )
        outs = [conv(x) for conv, x in zip(self.fpn_convs, lat[:-1], strict=True)] + [lat[-1]]
        size = outs[0].shape[-2:]
        outs = [outs[0]] + [
            F.interpolate(o, size=size, mode="bilinear", align_corners=self.align_corners) for o in outs[1:]
        ]
        return self.bottleneck(torch.cat(outs, dim=1))  # type: ignore[no-any-return]
