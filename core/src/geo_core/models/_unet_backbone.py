"""A plain U-Net (encoder and decoder) used as a backbone: TerraTorch's ``UNet``.

TerraTorch's ``GenericUnetModelFactory`` builds this network and puts a decoder
that includes its head (``ASPPSegmentationHead``) on the finest feature map;
``geo migrate terratorch`` turns such configs into ``EncoderDecoderFactory`` with
``backbone: UNet``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["UNet"]


def _convs(c_in: int, c_out: int, n: int, dilation: int = 1) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i in range(max(1, n)):
        layers += [
            nn.Conv2d(c_in if i == 0 else c_out, c_out, 3, padding=dilation, dilation=dilation, bias=False),
            nn.BatchNorm2d(c_out),
            nn.ReLU(inplace=True),
        ]
    return nn.Sequential(*layers)


class UNet(nn.Module):
    """U-Net whose forward returns the decoder's maps, coarsest first, the last at input resolution.

    Args:
        in_channels: Input bands (``in_chans`` is accepted as an alias).
        base_channels: Width of the first stage; stage ``i`` is ``base_channels * 2**i`` wide.
        num_stages: Encoder stages (``num_stages - 1`` of them halve the resolution).
        enc_num_convs: 3x3 convolutions per encoder stage.
        dec_num_convs: 3x3 convolutions per decoder stage.
        downsamples: Whether each encoder stage after the first halves the resolution.
        enc_dilations: Dilation per encoder stage.
        dec_dilations: Dilation per decoder stage.
        pretrained: Must be empty (there are no released weights).
        in_chans: timm's spelling of ``in_channels``.

    Example:
        >>> net = UNet(in_channels=3, base_channels=8, num_stages=3)
        >>> [tuple(f.shape) for f in net(torch.zeros(1, 3, 32, 32))]
        [(1, 32, 8, 8), (1, 16, 16, 16), (1, 8, 32, 32)]
    """

    def __init__(
        self,
        in_channels: int = 3,
        base_channels: int = 64,
        num_stages: int = 5,
        enc_num_convs: Sequence[int] = (2, 2, 2, 2, 2),
        dec_num_convs: Sequence[int] = (2, 2, 2, 2),
        downsamples: Sequence[bool] = (True, True, True, True),
        enc_dilations: Sequence[int] = (1, 1, 1, 1, 1),
        dec_dilations: Sequence[int] = (1, 1, 1, 1),
        pretrained: bool | str | None = None,
        in_chans: int | None = None,
    ) -> None:
        super().__init__()
        if pretrained:
            raise ValueError("UNet has no released weights; use pretrained=None")
        n = int(num_stages)
        if n < 2:
            raise ValueError(f"UNet needs num_stages >= 2, got {n}")
        for name, seq, need in (
            ("enc_num_convs", enc_num_convs, n),
            ("enc_dilations", enc_dilations, n),
            ("dec_num_convs", dec_num_convs, n - 1),
            ("downsamples", downsamples, n - 1),
            ("dec_dilations", dec_dilations, n - 1),
        ):
            if len(seq) < need:
                raise ValueError(f"UNet: {name} needs {need} entries for num_stages={n}, got {list(seq)}")
        self.in_channels = int(in_chans if in_chans is not None else in_channels)
        widths = [int(base_channels) * 2**i for i in range(n)]
        self.downsamples = [bool(d) for d in downsamples[: n - 1]]
        self.encoder = nn.ModuleList(
            _convs(self.in_channels if i == 0 else widths[i - 1], widths[i], enc_num_convs[i], enc_dilations[i])
            for i in range(n)
        )
        self.decoder = nn.ModuleList(
            _convs(widths[i] + widths[i - 1], widths[i - 1], dec_num_convs[i - 1], dec_dilations[i - 1])
            for i in range(n - 1, 0, -1)
        )
        self.out_channels = list(reversed(widths))
        self.strides = [2 ** sum(self.downsamples[:k]) for k in range(n - 1, -1, -1)]

    def forward(self, x: Tensor) -> list[Tensor]:
        """Return ``num_stages`` maps: the bottleneck, then each decoder stage up to full resolution."""
        skips = []
        for i, stage in enumerate(self.encoder):
            if i > 0 and self.downsamples[i - 1]:
                x = F.max_pool2d(x, 2)
            x = stage(x)
            skips.append(x)
        outs = [x]
        for j, stage in enumerate(self.decoder):
            skip = skips[-2 - j]
            if x.shape[-2:] != skip.shape[-2:]:
                x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            x = stage(torch.cat([skip, x], dim=1))
            outs.append(x)
        return outs
