"""Blocks of the Prithvi Swin backbone, named as the mmseg Swin layout of TerraTorch's ``MMSegSwinTransformer``.

Key layout (``stages.<i>.*``): ``blocks.<j>.{norm1, attn.w_msa.{qkv, proj, relative_position_bias_table},
norm2, ffn.layers.0.0, ffn.layers.1}``, ``downsample.{norm, reduction}`` (patch merging: channels in
``nn.Unfold`` order) and ``norm`` (the stage's output norm). Windows are padded at the bottom/right
and shifted by half a window in every second block; merging pads odd sides with zeros.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["PatchEmbed", "PatchMerging", "SwinStage"]


class DropPath(nn.Module):
    """Stochastic depth: drop a sample's residual branch with probability ``p`` in training."""

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: Tensor) -> Tensor:
        """Identity in eval mode or with ``p == 0``."""
        if not self.training or self.p == 0.0:
            return x
        keep = x.new_empty((x.shape[0],) + (1,) * (x.dim() - 1)).bernoulli_(1 - self.p)
        return x * keep / (1 - self.p)


def _relative_index(window: int) -> Tensor:
    """Index into the ``(2w-1)^2`` bias table for every (query, key) pair of a ``w x w`` window."""
    rows, cols = torch.meshgrid(torch.arange(window), torch.arange(window), indexing="ij")
    coords = torch.stack([rows.flatten(), cols.flatten()])  # (2, w*w)
    rel = coords[:, :, None] - coords[:, None, :] + (window - 1)  # (2, w*w, w*w), in [0, 2w-2]
    return rel[0] * (2 * window - 1) + rel[1]


class WindowAttention(nn.Module):
    """Multi-head self-attention inside a window, with a learnt relative position bias."""

    relative_position_index: Tensor

    def __init__(self, dim: int, num_heads: int, window: int) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.window = window
        self.scale = (dim // num_heads) ** -0.5
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * window - 1) ** 2, num_heads))
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)
        self.register_buffer("relative_position_index", _relative_index(window))
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: Tensor, mask: Tensor | None) -> Tensor:
        """``x``: ``(windows * B, w*w, C)``; ``mask``: ``(windows, w*w, w*w)`` additive or None."""
        b, n, c = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.num_heads, c // self.num_heads).permute(2, 0, 3, 1, 4)
        attn = (q * self.scale) @ k.transpose(-2, -1)
        bias = self.relative_position_bias_table[self.relative_position_index.reshape(-1)]
        attn = attn + bias.reshape(n, n, -1).permute(2, 0, 1).unsqueeze(0)
        if mask is not None:
            nw = mask.shape[0]
            attn = (attn.view(b // nw, nw, self.num_heads, n, n) + mask[None, :, None]).view(-1, self.num_heads, n, n)
        out: Tensor = self.proj((attn.softmax(dim=-1) @ v).transpose(1, 2).reshape(b, n, c))
        return out


class ShiftedWindowAttention(nn.Module):
    """Window attention on a padded, optionally cyclically shifted grid (``attn.w_msa.*``)."""

    def __init__(self, dim: int, num_heads: int, window: int, shift: int, drop_path: float) -> None:
        super().__init__()
        self.window = window
        self.shift = shift
        self.w_msa = WindowAttention(dim, num_heads, window)
        self.drop = DropPath(drop_path)

    def _mask(self, hp: int, wp: int, device: torch.device, dtype: torch.dtype) -> Tensor:
        w, s = self.window, self.shift
        region = torch.zeros(hp, wp, device=device, dtype=dtype)
        cuts = ((0, hp - w), (hp - w, hp - s), (hp - s, hp))
        cols = ((0, wp - w), (wp - w, wp - s), (wp - s, wp))
        label = 0
        for r0, r1 in cuts:
            for c0, c1 in cols:
                region[r0:r1, c0:c1] = label
                label += 1
        ids = self._partition(region[None, :, :, None]).reshape(-1, w * w)
        diff = ids[:, None, :] - ids[:, :, None]
        return diff.masked_fill(diff != 0, -100.0).masked_fill(diff == 0, 0.0)

    def _partition(self, x: Tensor) -> Tensor:
        b, h, w_, c = x.shape
        w = self.window
        return x.view(b, h // w, w, w_ // w, w, c).permute(0, 1, 3, 2, 4, 5).reshape(-1, w, w, c)

    def forward(self, x: Tensor, hw: tuple[int, int]) -> Tensor:
        """``x``: ``(B, H*W, C)`` tokens of an ``hw`` grid."""
        b, _, c = x.shape
        h, w_ = hw
        w = self.window
        grid = F.pad(x.view(b, h, w_, c), (0, 0, 0, (w - w_ % w) % w, 0, (w - h % w) % w))
        hp, wp = grid.shape[1], grid.shape[2]
        mask = None
        if self.shift:
            grid = torch.roll(grid, shifts=(-self.shift, -self.shift), dims=(1, 2))
            mask = self._mask(hp, wp, grid.device, grid.dtype)
        windows = self.w_msa(self._partition(grid).reshape(-1, w * w, c), mask)
        grid = windows.view(b, hp // w, wp // w, w, w, c).permute(0, 1, 3, 2, 4, 5).reshape(b, hp, wp, c)
        if self.shift:
            grid = torch.roll(grid, shifts=(self.shift, self.shift), dims=(1, 2))
        out: Tensor = self.drop(grid[:, :h, :w_, :].reshape(b, h * w_, c))
        return out


class Ffn(nn.Module):
    """``ffn.layers.0.0`` (Linear, GELU) then ``ffn.layers.1`` (Linear)."""

    def __init__(self, dim: int, hidden: int, drop_path: float) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Dropout(0.0)), nn.Linear(hidden, dim), nn.Dropout(0.0)
        )
        self.drop = DropPath(drop_path)

    def forward(self, x: Tensor, identity: Tensor) -> Tensor:
        """Feed-forward of ``x`` added to ``identity`` (the block's residual stream)."""
        out: Tensor = identity + self.drop(self.layers(x))
        return out


class SwinBlock(nn.Module):
    """Pre-norm block: (shifted) window attention and feed-forward, each with a residual."""

    def __init__(self, dim: int, num_heads: int, window: int, shift: bool, mlp_ratio: float, drop_path: float) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = ShiftedWindowAttention(dim, num_heads, window, window // 2 if shift else 0, drop_path)
        self.norm2 = nn.LayerNorm(dim)
        self.ffn = Ffn(dim, int(mlp_ratio * dim), drop_path)

    def forward(self, x: Tensor, hw: tuple[int, int]) -> Tensor:
        """Apply the block."""
        x = x + self.attn(self.norm1(x), hw)
        out: Tensor = self.ffn(self.norm2(x), x)
        return out


class PatchMerging(nn.Module):
    """2x2 neighbourhoods to one token: zero-pad odd sides, unfold (channel-major), norm, linear (no bias)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(4 * dim)
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)

    def forward(self, x: Tensor, hw: tuple[int, int]) -> tuple[Tensor, tuple[int, int]]:
        """``(B, H*W, C)`` to ``(B, ceil(H/2)*ceil(W/2), 2C)``."""
        b, _, c = x.shape
        h, w = hw
        img = F.pad(x.view(b, h, w, c).permute(0, 3, 1, 2), (0, w % 2, 0, h % 2))
        out_hw = (img.shape[2] // 2, img.shape[3] // 2)
        cols = F.unfold(img, kernel_size=2, stride=2).transpose(1, 2)  # (B, L, C*4), channel-major
        out: Tensor = self.reduction(self.norm(cols))
        return out, out_hw


class SwinStage(nn.Module):
    """Blocks, the stage's output norm (a feature map) and the merging into the next stage."""

    def __init__(
        self,
        dim: int,
        depth: int,
        num_heads: int,
        window: int,
        mlp_ratio: float,
        drop_path: list[float],
        downsample: bool,
    ) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(
            SwinBlock(dim, num_heads, window, i % 2 == 1, mlp_ratio, drop_path[i]) for i in range(depth)
        )
        self.downsample = PatchMerging(dim) if downsample else None
        self.norm = nn.LayerNorm(dim)

    def forward(self, x: Tensor, hw: tuple[int, int]) -> tuple[Tensor, Tensor, tuple[int, int]]:
        """Return the ``(B, C, H, W)`` feature map and the (merged) tokens with their grid for the next stage."""
        for block in self.blocks:
            x = block(x, hw)
        feature = self.norm(x).view(x.shape[0], hw[0], hw[1], -1).permute(0, 3, 1, 2).contiguous()
        if self.downsample is None:
            return feature, x, hw
        x, hw = self.downsample(x, hw)
        return feature, x, hw


class PatchEmbed(nn.Module):
    """Non-overlapping ``patch x patch`` convolution (input replicate-padded to a multiple), then layer norm."""

    def __init__(self, in_chans: int, dim: int, patch_size: int) -> None:
        super().__init__()
        self.patch_size = patch_size
        self.projection = nn.Conv2d(in_chans, dim, patch_size, stride=patch_size)
        self.norm = nn.LayerNorm(dim)

    def forward(self, x: Tensor) -> tuple[Tensor, tuple[int, int]]:
        """``(B, C, H, W)`` to ``(B, h*w, dim)`` tokens and their grid."""
        p = self.patch_size
        ph, pw = (-x.shape[-2]) % p, (-x.shape[-1]) % p
        if ph or pw:
            x = F.pad(x, (0, pw, 0, ph), mode="replicate")
        x = self.projection(x)
        hw = (int(x.shape[2]), int(x.shape[3]))
        out: Tensor = self.norm(x.flatten(2).transpose(1, 2))
        return out, hw
