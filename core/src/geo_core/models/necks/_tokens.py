"""Necks for token backbones: tokens to image grids, and token pooling."""

from __future__ import annotations

import math
from typing import Literal

from torch import Tensor

from geo_core._contracts import Neck

__all__ = ["ReshapeTokensToImage", "AggregateTokens", "grid_shape"]


def grid_shape(n_tokens: int, image_size: tuple[int, int] | None, h: int | None = None) -> tuple[int, int] | None:
    """Return the ``(h, w)`` token grid for ``n_tokens`` tokens, or None when it cannot be inferred.

    With ``image_size`` the grid keeps the image's aspect ratio (non-square
    inputs); without it the grid must be square.
    """
    if h is not None:
        return (h, n_tokens // h) if h > 0 and n_tokens % h == 0 else None
    if image_size is not None:
        ih, iw = image_size
        gh = round(math.sqrt(n_tokens * ih / iw)) if iw else 0
        if gh > 0 and n_tokens % gh == 0:
            gw = n_tokens // gh
            if ih * gw == iw * gh:  # same aspect ratio: square patches
                return gh, gw
        return None
    side = math.isqrt(n_tokens)
    return (side, side) if side * side == n_tokens else None


class ReshapeTokensToImage(Neck):
    """Turn ``(B, [cls +] T*h*w, D)`` tokens into ``(B, T*D, h, w)`` image-like maps.

    Args:
        channel_list: Widths ``D`` of the incoming token tensors.
        remove_cls_token: Drop the first token (a cls token) before reshaping.
            Give ``False`` for backbones without one; a wrong setting is an
            error naming this option, never a silent guess.
        effective_time_dim: Frames ``T`` in the token sequence (``num_frames //
            tubelet_size``); their embeddings are concatenated on channels.
        h: Force the grid height instead of inferring it from the image size.

    The grid is inferred from the real (padded) ``image_size`` passed by the
    model, so non-square inputs work.
    """

    def __init__(
        self, channel_list: list[int], remove_cls_token: bool = True, effective_time_dim: int = 1, h: int | None = None
    ) -> None:
        super().__init__(channel_list)
        if effective_time_dim < 1:
            raise ValueError(f"ReshapeTokensToImage: effective_time_dim must be >= 1, got {effective_time_dim}")
        self.remove_cls_token = remove_cls_token
        self.effective_time_dim = int(effective_time_dim)
        self.h = h

    def process_channel_list(self, channel_list: list[int]) -> list[int]:
        """Each width is multiplied by ``effective_time_dim``."""
        return [c * self.effective_time_dim for c in channel_list]

    def forward(self, features: list[Tensor], image_size: tuple[int, int] | None = None) -> list[Tensor]:
        """Reshape every token tensor to a grid."""
        out = []
        for x in features:
            if x.dim() != 3:
                raise ValueError(f"ReshapeTokensToImage expects (B, N, D) tokens, got shape {tuple(x.shape)}")
            tokens = x[:, 1:, :] if self.remove_cls_token else x
            b, n, d = tokens.shape
            t = self.effective_time_dim
            if n % t:
                raise ValueError(f"ReshapeTokensToImage: {n} tokens do not split into effective_time_dim={t} frames")
            grid = grid_shape(n // t, image_size, self.h)
            if grid is None:
                hint = "remove_cls_token=False" if self.remove_cls_token else "remove_cls_token=True"
                raise ValueError(
                    f"ReshapeTokensToImage: cannot arrange {n // t} tokens per frame (of {x.shape[1]}) into a grid "
                    f"for image_size={image_size}; check {hint}, effective_time_dim or h"
                )
            gh, gw = grid
            out.append(tokens.reshape(b, t, gh, gw, d).permute(0, 1, 4, 2, 3).reshape(b, t * d, gh, gw))
        return out


class AggregateTokens(Neck):
    """Pool the tokens of one layer into a single ``(B, D)`` embedding (classification).

    Args:
        channel_list: Widths of the incoming features.
        pooling: ``mean``, ``max``, ``min``, ``CLS`` (first token) or a token index.
        index: Which feature of the list to pool.
        drop_cls: Exclude the first (cls) token from ``mean``/``max``/``min``.

    Feature maps ``(B, C, H, W)`` are flattened to tokens first.
    """

    def __init__(
        self,
        channel_list: list[int],
        pooling: Literal["mean", "max", "min", "CLS"] | int = "mean",
        index: int = -1,
        drop_cls: bool = False,
    ) -> None:
        super().__init__(channel_list)
        if not isinstance(pooling, int) and pooling not in ("mean", "max", "min", "CLS"):
            raise ValueError(f"AggregateTokens: pooling must be mean, max, min, CLS or an int, got {pooling!r}")
        if not -len(channel_list) <= index < len(channel_list):
            raise ValueError(f"AggregateTokens: index {index} out of range for {len(channel_list)} features")
        self.pooling = pooling
        self.index = index
        self.drop_cls = drop_cls

    def process_channel_list(self, channel_list: list[int]) -> list[int]:
        """One feature of the selected width."""
        return [channel_list[self.index]]

    def forward(self, features: list[Tensor], image_size: tuple[int, int] | None = None) -> list[Tensor]:
        """Return ``[(B, D)]``."""
        x = features[self.index]
        if x.dim() == 4:
            x = x.flatten(2).transpose(1, 2)
        if x.dim() != 3:
            raise ValueError(f"AggregateTokens expects (B, N, D) or (B, C, H, W), got shape {tuple(x.shape)}")
        if isinstance(self.pooling, int):
            return [x[:, self.pooling, :]]
        if self.pooling == "CLS":
            return [x[:, 0, :]]
        if self.drop_cls:
            x = x[:, 1:, :]
        if self.pooling == "mean":
            return [x.mean(dim=1)]
        if self.pooling == "max":
            return [x.amax(dim=1)]
        return [x.amin(dim=1)]
