"""Fixed sin-cos position embeddings (3-D for the tokens, 1-D for time and location)."""

from __future__ import annotations

import torch
from torch import Tensor
from torch.nn import functional as F

__all__ = ["interpolate_pos_embed", "sincos_1d", "sincos_3d"]


def sincos_1d(dim: int, positions: Tensor) -> Tensor:
    """Sin-cos embedding of ``positions`` (any shape, flattened) -> ``(M, dim)``.

    The first half holds ``sin(pos * w_k)``, the second ``cos(pos * w_k)`` with
    ``w_k = 10000 ** (-k / (dim / 2))``; computed in the dtype of ``positions``.
    """
    if dim % 2:
        raise ValueError(f"sin-cos embedding size must be even, got {dim}")
    omega = torch.arange(dim // 2, dtype=positions.dtype, device=positions.device) / (dim / 2.0)
    omega = 1.0 / 10000**omega
    angles = positions.reshape(-1)[:, None] * omega[None, :]
    return torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)


def sincos_3d(dim: int, grid: tuple[int, int, int], cls_token: bool = True) -> Tensor:
    """Fixed 3-D position embedding of a ``(t, h, w)`` token grid -> ``(1, [1 +] t*h*w, dim)`` float32.

    Tokens are ordered time-major then row-major (``t h w``). Channels: ``6/16`` for
    the column, ``6/16`` for the row, ``4/16`` for the frame index. Computed in
    float64 and rounded once, as the reference (numpy) implementation does.
    """
    if dim % 16:
        raise ValueError(f"embed_dim must be a multiple of 16 for the 3-D sin-cos embedding, got {dim}")
    t, h, w = grid
    f64 = torch.float64
    ew = sincos_1d(dim // 16 * 6, torch.arange(w, dtype=f64))
    eh = sincos_1d(dim // 16 * 6, torch.arange(h, dtype=f64))
    et = sincos_1d(dim // 16 * 4, torch.arange(t, dtype=f64))
    ew = ew.repeat(t * h, 1)
    eh = eh.repeat_interleave(w, dim=0).repeat(t, 1)
    et = et.repeat_interleave(h * w, dim=0)
    emb = torch.cat([ew, eh, et], dim=1)
    if cls_token:
        emb = torch.cat([torch.zeros(1, dim, dtype=f64), emb], dim=0)
    return emb.float().unsqueeze(0)


def interpolate_pos_embed(stored: Tensor, stored_grid: tuple[int, int, int], grid: tuple[int, int, int]) -> Tensor:
    """TerraTorch-compatible resizing: recompute for a new frame count, then resample rows/columns bicubically.

    Args:
        stored: ``(1, 1 + t*h*w, dim)`` embedding for ``stored_grid`` (cls slot first).
        stored_grid: The ``(t, h, w)`` grid of ``stored``.
        grid: The wanted grid.
    """
    if tuple(grid) == tuple(stored_grid):
        return stored
    dim = stored.shape[-1]
    base, base_grid = stored, stored_grid
    if grid[0] != stored_grid[0]:
        base_grid = (grid[0], stored_grid[1], stored_grid[2])
        base = sincos_3d(dim, base_grid).to(stored.device)
    cls, tokens = base[:, :1], base[:, 1:]
    tokens = tokens.reshape(*base_grid, dim).permute(0, 3, 1, 2)
    tokens = F.interpolate(tokens, size=(grid[1], grid[2]), mode="bicubic", align_corners=True)
    tokens = tokens.permute(0, 2, 3, 1).reshape(1, -1, dim)
    return torch.cat([cls, tokens], dim=1)
