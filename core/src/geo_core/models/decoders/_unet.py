"""U-Net decoder over a feature pyramid (pure PyTorch)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from geo_core.models._layers import conv_bn_act

__all__ = ["UNetDecoder"]


class _Block(nn.Module):
    def __init__(self, c_in: int, c_skip: int, c_out: int) -> None:
        super().__init__()
        self.conv = nn.Sequential(conv_bn_act(c_in + c_skip, c_out), conv_bn_act(c_out, c_out))

    def forward(self, x: Tensor, skip: Tensor | None) -> Tensor:
        if skip is None:
            x = F.interpolate(x, scale_factor=2.0, mode="nearest")
        else:
            x = F.interpolate(x, size=skip.shape[-2:], mode="nearest")
            x = torch.cat([x, skip], dim=1)
        return self.conv(x)  # type: ignore[no-any-return]


class UNetDecoder(nn.Module):
    """U-Net decoder: from the coarsest map up, upsample, concatenate the skip, two convolutions.

    One block per input feature; the last block has no skip and doubles the
    resolution once more (like segmentation_models.pytorch), so a stride-2
    first feature gives a full-resolution output.

    Args:
        channel_list: Widths of the incoming maps, finest first.
        channels: Output width of each block, coarsest block first (as many
            as features). Defaults to ``channel_list`` reversed.
    """

    includes_head = False

    def __init__(self, channel_list: list[int], channels: Sequence[int] | None = None) -> None:
        super().__init__()
        widths = list(channels) if channels is not None else list(reversed(channel_list))
        if len(widths) != len(channel_list):
            raise ValueError(
                f"UNetDecoder: channels has {len(widths)} entries but there are {len(channel_list)} features; "
                "give one width per feature"
            )
        skips = [*list(reversed(channel_list))[1:], 0]
        blocks = []
        prev = channel_list[-1]
        for skip, out in zip(skips, widths, strict=True):
            blocks.append(_Block(prev, skip, out))
            prev = out
        self.blocks = nn.ModuleList(blocks)
        self.out_channels = int(widths[-1])

    def forward(self, features: list[Tensor]) -> Tensor:
        """Decode the pyramid."""
        feats = list(reversed(features))
        x = feats[0]
        skips: list[Tensor | None] = [*feats[1:], None]
        for block, skip in zip(self.blocks, skips, strict=True):
            x = block(x, skip)
        return x
