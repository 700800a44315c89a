"""Window grids, blending weights and in-memory tiled inference (shared with streaming prediction)."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

__all__ = ["starts", "blend_weights", "tiled_forward"]


def starts(size: int, crop: int, stride: int) -> list[int]:
    """Window origins covering ``[0, size)``; the last window is aligned to the end."""
    if size <= crop:
        return [0]
    out = list(range(0, size - crop + 1, stride))
    if out[-1] != size - crop:
        out.append(size - crop)
    return out


def blend_ramp(crop: int, overlap: int, device: torch.device | None = None) -> Tensor:
    """``(crop,)`` weights rising linearly over ``overlap`` pixels at each edge (never zero)."""
    w = torch.ones(crop, device=device)
    if overlap > 0:
        ramp = (torch.arange(min(overlap, crop // 2), device=device, dtype=torch.float32) + 1) / (overlap + 1)
        w[: ramp.numel()] = ramp
        w[crop - ramp.numel() :] = ramp.flip(0)
    return w


def blend_weights(crop: int, overlap: int, device: torch.device | None = None) -> Tensor:
    """``(crop, crop)`` window weights: the outer product of :func:`blend_ramp` with itself."""
    w = blend_ramp(crop, overlap, device)
    return w[:, None] * w[None, :]


def coverage(size: int, crop: int, stride: int, device: torch.device | None = None) -> Tensor:
    """``(max(size, crop),)`` sum of the shifted ramps of all windows along one axis.

    The 2-D weights are separable, so the weight sum of every pixel is
    ``coverage(height)[:, None] * coverage(width)[None, :]``.
    """
    padded = max(size, crop)
    w = blend_ramp(crop, crop - stride, device)
    out = torch.zeros(padded, device=device)
    for s in starts(padded, crop, stride):
        out[s : s + crop] += w
    return out


def tiled_forward(
    fn: Callable[[Tensor], Tensor],
    image: Tensor,
    crop: int = 224,
    stride: int = 192,
    batch_size: int = 16,
) -> Tensor:
    """Run ``fn`` on overlapping ``crop`` windows of ``image`` ``(B, C, H, W)`` and blend the outputs.

    Images smaller than ``crop`` are zero-padded. Returns ``(B, K, H, W)``.
    """
    b, _, h, w = image.shape
    ph, pw = max(h, crop), max(w, crop)
    if (ph, pw) != (h, w):
        image = torch.nn.functional.pad(image, (0, pw - w, 0, ph - h))
    ys, xs = starts(ph, crop, stride), starts(pw, crop, stride)
    weight = blend_weights(crop, crop - stride, image.device)
    acc: Tensor | None = None
    boxes = [(i, y, x) for i in range(b) for y in ys for x in xs]
    for k in range(0, len(boxes), batch_size):
        chunk = boxes[k : k + batch_size]
        out = fn(torch.stack([image[i, :, y : y + crop, x : x + crop] for i, y, x in chunk])) * weight
        if acc is None:
            acc = torch.zeros((b, out.shape[1], ph, pw), device=image.device, dtype=out.dtype)
        for (i, y, x), o in zip(chunk, out, strict=True):
            acc[i, :, y : y + crop, x : x + crop] += o
    assert acc is not None
    # separable weights: the weight sum of pixel (r, c) is coverage_y[r] * coverage_x[c]
    wsum = coverage(ph, crop, stride, image.device)[:, None] * coverage(pw, crop, stride, image.device)[None, :]
    return (acc / wsum)[:, :, :h, :w]
