"""Necks that pick or reorder features without learning anything."""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor

from geo_core._contracts import Neck

__all__ = ["SelectIndices", "PermuteDims"]


class SelectIndices(Neck):
    """Keep the features at ``indices`` (negative indices count from the end).

    Args:
        channel_list: Widths of the incoming features.
        indices: Positions to keep, in output order.

    Example:
        >>> SelectIndices([8, 16, 32], indices=[0, -1]).process_channel_list([8, 16, 32])
        [8, 32]
    """

    def __init__(self, channel_list: list[int], indices: Sequence[int]) -> None:
        super().__init__(channel_list)
        n = len(channel_list)
        bad = [i for i in indices if not -n <= int(i) < n]
        if bad:
            raise ValueError(
                f"SelectIndices: indices {bad} out of range for {n} features (channel_list={channel_list})"
            )
        if not indices:
            raise ValueError("SelectIndices: indices must not be empty")
        self.indices = [int(i) for i in indices]

    def process_channel_list(self, channel_list: list[int]) -> list[int]:
        """Return the widths of the selected features."""
        return [channel_list[i] for i in self.indices]

    def forward(self, features: list[Tensor], image_size: tuple[int, int] | None = None) -> list[Tensor]:
        """Return the selected features."""
        if len(features) != len(self.channel_list):
            raise ValueError(f"SelectIndices expected {len(self.channel_list)} features, got {len(features)}")
        return [features[i] for i in self.indices]


class PermuteDims(Neck):
    """Permute the dimensions of every feature (e.g. channels-last maps to ``(B, C, H, W)``).

    The channel list is kept: use it to fix a backbone that returns NHWC maps
    while declaring its real widths in ``out_channels``.

    Args:
        channel_list: Widths of the incoming features.
        new_order: A permutation of the tensor dimensions, e.g. ``[0, 3, 1, 2]``.
    """

    def __init__(self, channel_list: list[int], new_order: Sequence[int]) -> None:
        super().__init__(channel_list)
        order = [int(i) for i in new_order]
        if sorted(order) != list(range(len(order))):
            raise ValueError(f"PermuteDims: new_order {order} is not a permutation of 0..{len(order) - 1}")
        self.new_order = order

    def process_channel_list(self, channel_list: list[int]) -> list[int]:
        """Widths are unchanged."""
        return list(channel_list)

    def forward(self, features: list[Tensor], image_size: tuple[int, int] | None = None) -> list[Tensor]:
        """Permute every feature."""
        out = []
        for f in features:
            if f.dim() != len(self.new_order):
                raise ValueError(
                    f"PermuteDims: new_order {self.new_order} has {len(self.new_order)} dims, feature has {f.dim()}"
                )
            out.append(f.permute(*self.new_order).contiguous())
        return out
