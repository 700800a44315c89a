"""Turn a backbone's feature (tokens or maps) into per-sample vectors or grids."""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import Tensor

__all__ = ["Pooling", "token_grid", "pool_features"]

Pooling = Literal["cls", "mean", "max", "none"]


def token_grid(n_tokens: int, image_size: tuple[int, int], frames: int = 1) -> tuple[bool, int, int, int]:
    """Infer ``(has_cls, t, h, w)`` of a token sequence from the input's aspect ratio.

    Tries ``n_tokens`` and ``n_tokens - 1`` (a leading cls token) against grids of
    ``t x h x w`` whose ``h / w`` matches the input and ``t`` divides ``frames``.

    Raises:
        ValueError: No grid fits; the message names the counts involved.
    """
    height, width = image_size
    for has_cls in (False, True):
        n = n_tokens - int(has_cls)
        for t in [d for d in range(frames, 0, -1) if frames % d == 0]:
            if n % t:
                continue
            per_frame = n // t
            h = round(math.sqrt(per_frame * height / width))
            for hh in (h - 1, h, h + 1):
                if hh > 0 and per_frame % hh == 0:
                    ww = per_frame // hh
                    if height % hh == 0 and width % ww == 0 and height // hh == width // ww:
                        return has_cls, t, hh, ww
    raise ValueError(
        f"cannot arrange {n_tokens} tokens into a grid for a {height}x{width} input with {frames} frame(s); "
        "use pooling 'mean', 'max' or 'cls' instead of 'none'"
    )


def pool_features(feature: Tensor, pooling: Pooling, image_size: tuple[int, int], frames: int = 1) -> Tensor:
    """Pool one feature level.

    Args:
        feature: ``(B, N, D)`` tokens or ``(B, C, H, W)`` maps.
        pooling: ``cls`` (token backbones with a cls token), ``mean``, ``max`` or ``none``.
        image_size: The input's ``(H, W)``.
        frames: The input's frame count (multi-temporal inputs).

    Returns:
        ``(B, D)`` vectors, or for ``none`` a ``(B, D', h, w)`` grid (``D' = D * t`` for
        multi-temporal tokens, frame-major).
    """
    if feature.dim() == 4:
        if pooling == "none":
            return feature
        if pooling == "cls":
            raise ValueError("pooling 'cls' needs a token backbone; this layer returns (B, C, H, W) maps")
        return feature.mean(dim=(2, 3)) if pooling == "mean" else feature.amax(dim=(2, 3))
    if feature.dim() != 3:
        raise ValueError(f"expected tokens (B, N, D) or maps (B, C, H, W), got shape {tuple(feature.shape)}")
    has_cls, t, h, w = token_grid(feature.shape[1], image_size, frames)
    if pooling == "cls":
        if not has_cls:
            raise ValueError(f"pooling 'cls': {feature.shape[1]} tokens hold no cls token for this input size")
        return feature[:, 0]
    patches = feature[:, 1:] if has_cls else feature
    if pooling == "mean":
        return patches.mean(dim=1)
    if pooling == "max":
        return patches.amax(dim=1)
    b, _, d = patches.shape
    grid = patches.reshape(b, t, h, w, d).permute(0, 1, 4, 2, 3)  # B, T, D, h, w
    return grid.reshape(b, t * d, h, w).contiguous()


def flatten_layers(vectors: list[Tensor]) -> Tensor:
    """Concatenate pooled vectors of several layers along the feature axis."""
    return torch.cat(vectors, dim=1)
