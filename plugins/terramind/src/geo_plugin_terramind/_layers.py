"""Transformer parts of TerraMind's encoder, with the parameter names of the released checkpoints.

Block layout (``encoder.<i>.*``): ``norm1``, ``attn.qkv``, ``attn.proj``, ``norm2`` and an MLP
``mlp.fc1``/``mlp.fc2`` (tiny, small: GELU, with biases) or a gated one ``mlp.fc1``/``mlp.fc2``/``mlp.fc3``
(base, large: SiLU, no biases, hidden width 2/3 of ``dim * mlp_ratio``). Layer norms have no learnt
bias; the checkpoints still hold a zero ``bias`` buffer, kept here so the key sets match.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["Block", "LayerNorm", "sincos_2d", "resize_pos_emb"]


class LayerNorm(nn.Module):
    """Layer norm with a learnt scale and an optional learnt bias (a zero buffer otherwise)."""

    def __init__(self, dim: int, eps: float = 1e-6, bias: bool = False) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))
        if bias:
            self.bias = nn.Parameter(torch.zeros(dim))
        else:
            self.register_buffer("bias", torch.zeros(dim))

    def forward(self, x: Tensor) -> Tensor:
        """Normalise the last dimension."""
        out: Tensor = F.layer_norm(x, (x.shape[-1],), self.weight, self.bias, self.eps)
        return out


class Attention(nn.Module):
    """Multi-head self-attention with a fused ``qkv`` projection."""

    def __init__(self, dim: int, num_heads: int, bias: bool) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.scale = (dim // num_heads) ** -0.5
        self.qkv = nn.Linear(dim, 3 * dim, bias=bias)
        self.proj = nn.Linear(dim, dim, bias=bias)

    def forward(self, x: Tensor) -> Tensor:
        """Attend over all tokens."""
        b, n, d = x.shape
        q, k, v = self.qkv(x).view(b, n, 3, self.num_heads, d // self.num_heads).permute(2, 0, 3, 1, 4)
        weights = (q @ k.transpose(-2, -1) * self.scale).softmax(dim=-1)
        out: Tensor = self.proj((weights @ v).transpose(1, 2).reshape(b, n, d))
        return out


class Mlp(nn.Module):
    """``fc2(act(fc1(x)))``, or the gated ``fc2(act(fc1(x)) * fc3(x))``."""

    def __init__(self, dim: int, hidden: int, gated: bool, bias: bool) -> None:
        super().__init__()
        if gated:
            hidden = int(2 * hidden / 3)
        self.fc1 = nn.Linear(dim, hidden, bias=bias)
        self.act: nn.Module = nn.SiLU() if gated else nn.GELU()
        self.fc2 = nn.Linear(hidden, dim, bias=bias)
        self.fc3 = nn.Linear(dim, hidden, bias=bias) if gated else None

    def forward(self, x: Tensor) -> Tensor:
        """Apply the feed-forward network."""
        h = self.act(self.fc1(x))
        if self.fc3 is not None:
            h = h * self.fc3(x)
        out: Tensor = self.fc2(h)
        return out


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


class Block(nn.Module):
    """Pre-norm transformer block."""

    def __init__(
        self, dim: int, num_heads: int, mlp_ratio: float, *, gated: bool, bias: bool, drop_path: float = 0.0
    ) -> None:
        super().__init__()
        self.norm1 = LayerNorm(dim)
        self.attn = Attention(dim, num_heads, bias)
        self.norm2 = LayerNorm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), gated, bias)
        self.drop_path = DropPath(drop_path)

    def forward(self, x: Tensor) -> Tensor:
        """Attention and MLP, each with a residual connection."""
        x = x + self.drop_path(self.attn(self.norm1(x)))
        out: Tensor = x + self.drop_path(self.mlp(self.norm2(x)))
        return out


def sincos_2d(h: int, w: int, dim: int, temperature: float = 10000.0) -> Tensor:
    """Fixed 2-D sin-cos position embedding ``(1, h*w, dim)`` (MoCo-v3 layout, as in the checkpoints).

    Tokens are in row-major order; the first half of the channels encodes the row, the second the column.
    """
    if dim % 4:
        raise ValueError(f"TerraMind: the embedding width must be a multiple of 4, got {dim}")
    omega = 1.0 / temperature ** (torch.arange(dim // 4, dtype=torch.float32) / (dim // 4))
    rows, cols = torch.meshgrid(
        torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32), indexing="ij"
    )
    r = rows.reshape(-1, 1) * omega
    c = cols.reshape(-1, 1) * omega
    return torch.cat([r.sin(), r.cos(), c.sin(), c.cos()], dim=1).unsqueeze(0)


def resize_pos_emb(pos: Tensor, grid: tuple[int, int]) -> Tensor:
    """Bicubically resize a square ``(1, n, d)`` position embedding to ``grid`` (TerraTorch's behaviour)."""
    side = math.isqrt(pos.shape[1])
    d = pos.shape[-1]
    img = pos.reshape(1, side, side, d).permute(0, 3, 1, 2)
    img = F.interpolate(img, size=grid, mode="bicubic", align_corners=False)
    return img.permute(0, 2, 3, 1).reshape(1, -1, d)
