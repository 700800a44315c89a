"""DeepLabV3 ASPP heads for segmentation and pixel-wise regression (include the head)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from geo_core.models._layers import conv_bn_act, resolve_index

__all__ = ["ASPPSegmentationHead", "ASPPRegressionHead", "ASPPModule"]


class ASPPModule(nn.Module):
    """Atrous spatial pyramid pooling: parallel dilated convolutions plus image pooling, fused."""

    def __init__(self, c_in: int, channels: int, dilations: Sequence[int]) -> None:
        super().__init__()
        self.image_pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(c_in, channels, 1), nn.ReLU(inplace=True))
        self.branches = nn.ModuleList(conv_bn_act(c_in, channels, 1 if d == 1 else 3, dilation=d) for d in dilations)
        self.fuse = conv_bn_act((len(dilations) + 1) * channels, channels)

    def forward(self, x: Tensor) -> Tensor:
        pooled = F.interpolate(self.image_pool(x), size=x.shape[-2:], mode="bilinear", align_corners=False)
        return self.fuse(torch.cat([pooled] + [b(x) for b in self.branches], dim=1))  # type: ignore[no-any-return]


class ASPPSegmentationHead(nn.Module):
    """DeepLabV3 head: ASPP on one map, dropout, then a 1x1 convolution to ``num_classes``.

    Args:
        channel_list: Widths of the incoming maps.
        num_classes: Output channels.
        dilations: Dilation of each parallel branch.
        channels: Width inside the head.
        in_index: Which map to decode.
        dropout: Dropout before the classifier.
        head_dropout_ratio: TerraTorch's name for ``dropout`` (wins when given).
        in_channels: TerraTorch's explicit input width; must match ``channel_list[in_index]``.
    """

    includes_head = True

    def __init__(
        self,
        channel_list: list[int],
        num_classes: int = 2,
        dilations: Sequence[int] = (1, 6, 12, 18),
        channels: int | None = 256,
        in_index: int = -1,
        dropout: float = 0.1,
        head_dropout_ratio: float | None = None,
        in_channels: int | None = None,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        self.in_index = resolve_index(in_index, len(channel_list), name)
        if in_channels is not None and in_channels != channel_list[self.in_index]:
            raise ValueError(
                f"{name}: in_channels={in_channels} but feature {in_index} has "
                f"{channel_list[self.in_index]} channels; drop in_channels"
            )
        channels = channels or 256
        dropout = dropout if head_dropout_ratio is None else head_dropout_ratio
        self.aspp = ASPPModule(channel_list[self.in_index], channels, dilations)
        self.dropout = nn.Dropout2d(dropout) if dropout else nn.Identity()
        self.classifier = nn.Conv2d(channels, num_classes, 1)
        self.out_channels = int(num_classes)

    def forward(self, features: list[Tensor]) -> Tensor:
        """Return ``(B, num_classes, h, w)`` at the selected map's resolution."""
        return self.classifier(self.dropout(self.aspp(features[self.in_index])))  # type: ignore[no-any-return]


class ASPPRegressionHead(ASPPSegmentationHead):
    """DeepLabV3 head for pixel-wise regression: ``num_classes`` (default 1) output channels, no dropout.

    Args:
        channel_list: Widths of the incoming maps.
        num_classes: Regression targets per pixel.
        dilations: Dilation of each parallel branch.
        channels: Width inside the head.
        in_index: Which map to decode.
        dropout: Dropout before the output layer.
        head_dropout_ratio: TerraTorch's name for ``dropout`` (wins when given).
        in_channels: TerraTorch's explicit input width; must match ``channel_list[in_index]``.
    """

    def __init__(
        self,
        channel_list: list[int],
        num_classes: int = 1,
        dilations: Sequence[int] = (1, 6, 12, 18),
        channels: int | None = 256,
        in_index: int = -1,
        dropout: float = 0.0,
        head_dropout_ratio: float | None = None,
        in_channels: int | None = None,
    ) -> None:
        super().__init__(
            channel_list, num_classes, dilations, channels, in_index, dropout, head_dropout_ratio, in_channels
        )
