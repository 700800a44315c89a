"""Tiny random-init components for tests: a CNN, a ViT and a decoder.

They honour the backbone and decoder contracts of :mod:`geo_core._contracts`
and run in milliseconds on a CPU, so a plugin's tests can build real models
without weights. ``TinyCNNBackbone`` and ``TinyViTBackbone`` are also
registered as the core backbones ``tiny_cnn`` and ``tiny_vit``.

Example:
    >>> import torch
    >>> from geo_core.testing import TinyCNNBackbone
    >>> feats = TinyCNNBackbone(in_channels=3)(torch.zeros(1, 3, 32, 32))
    >>> [tuple(f.shape) for f in feats]
    [(1, 8, 16, 16), (1, 16, 8, 8), (1, 32, 4, 4), (1, 64, 2, 2)]
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["TinyCNNBackbone", "TinyViTBackbone", "TinyDecoder"]


def _no_weights(name: str, pretrained: bool) -> None:
    if pretrained:
        raise ValueError(f"{name} has no pretrained weights; use pretrained=False")


class TinyCNNBackbone(nn.Module):
    """Four-stage CNN returning ``(B, C_i, H/s_i, W/s_i)`` maps at strides 2, 4, 8, 16.

    Args:
        in_channels: Input bands (``in_chans`` is accepted as an alias).
        out_channels: Width of each stage.
        pretrained: Must be false (there are no weights).
        out_indices: Optional subset of stages to return.
        in_chans: timm's spelling of ``in_channels``.
    """

    def __init__(
        self,
        in_channels: int = 6,
        out_channels: Sequence[int] = (8, 16, 32, 64),
        *,
        pretrained: bool = False,
        out_indices: Sequence[int] | None = None,
        in_chans: int | None = None,
    ) -> None:
        in_channels = int(in_chans if in_chans is not None else in_channels)
        _no_weights("TinyCNNBackbone", pretrained)
        super().__init__()
        self.in_channels = in_channels
        widths = [int(c) for c in out_channels]
        stages = []
        prev = in_channels
        for c in widths:
            stages.append(nn.Sequential(nn.Conv2d(prev, c, 3, stride=2, padding=1), nn.BatchNorm2d(c), nn.ReLU()))
            prev = c
        self.stages = nn.ModuleList(stages)
        n = len(widths)
        self.out_indices = list(range(n)) if out_indices is None else [int(i) % n for i in out_indices]
        self.out_channels = [widths[i] for i in self.out_indices]
        self.strides = [2 ** (i + 1) for i in self.out_indices]

    def forward(self, x: Tensor) -> list[Tensor]:
        """Return one feature map per selected stage."""
        feats = []
        for stage in self.stages:
            x = stage(x)
            feats.append(x)
        return [feats[i] for i in self.out_indices]


class _Block(nn.Module):
    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.heads = heads
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, dim * 2), nn.GELU(), nn.Linear(dim * 2, dim))

    def forward(self, x: Tensor) -> Tensor:
        b, n, d = x.shape
        qkv = self.qkv(self.norm1(x)).reshape(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        a = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2])
        x = x + self.proj(a.transpose(1, 2).reshape(b, n, d))
        return x + self.mlp(self.norm2(x))  # type: ignore[no-any-return]


class TinyViTBackbone(nn.Module):
    """ViT returning the ``(B, 1 + N, D)`` tokens of every block (``N`` patches, one cls token).

    Works for any input whose sides are multiples of ``patch_size`` (the position
    embedding is interpolated), square or not.

    Args:
        in_channels: Input bands (``in_chans`` is accepted as an alias).
        img_size: Size the position embedding is made for.
        patch_size: Patch side in pixels.
        embed_dim: Token width ``D``.
        depth: Number of blocks (and of returned tensors).
        cls_token: Prepend a cls token.
        num_heads: Attention heads.
        pretrained: Must be false (there are no weights).
        out_indices: Optional subset of blocks to return.
        in_chans: timm's spelling of ``in_channels``.
    """

    def __init__(
        self,
        in_channels: int = 6,
        img_size: int = 64,
        patch_size: int = 8,
        embed_dim: int = 32,
        depth: int = 4,
        cls_token: bool = True,
        *,
        num_heads: int = 2,
        pretrained: bool = False,
        out_indices: Sequence[int] | None = None,
        in_chans: int | None = None,
    ) -> None:
        in_channels = int(in_chans if in_chans is not None else in_channels)
        _no_weights("TinyViTBackbone", pretrained)
        super().__init__()
        self.in_channels = in_channels
        self.patch_size = int(patch_size)
        self.embed_dim = int(embed_dim)
        grid = max(1, int(img_size) // self.patch_size)
        self.patch_embed = nn.Conv2d(in_channels, embed_dim, self.patch_size, stride=self.patch_size)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim)) if cls_token else None
        self.pos_embed = nn.Parameter(torch.randn(1, embed_dim, grid, grid) * 0.02)
        self.blocks = nn.ModuleList(_Block(embed_dim, num_heads) for _ in range(depth))
        self.out_indices = list(range(depth)) if out_indices is None else [int(i) for i in out_indices]
        self.out_channels = [self.embed_dim] * len(self.out_indices)
        self.output_format = "tokens"
        self.prefix_tokens = 1 if cls_token else 0

    def forward(self, x: Tensor) -> list[Tensor]:
        """Return the tokens after each selected block."""
        h, w = x.shape[-2:]
        if h % self.patch_size or w % self.patch_size:
            raise ValueError(
                f"TinyViTBackbone needs sides that are multiples of patch_size={self.patch_size}, got {h}x{w}"
            )
        x = self.patch_embed(x)
        pos: Tensor = self.pos_embed
        if pos.shape[-2:] != x.shape[-2:]:
            pos = F.interpolate(pos, size=x.shape[-2:], mode="bilinear", align_corners=False)
        x = (x + pos).flatten(2).transpose(1, 2)
        if self.cls_token is not None:
            x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1)
        out = []
        for blk in self.blocks:
            x = blk(x)
            out.append(x)
        return [out[i] for i in self.out_indices]


class TinyDecoder(nn.Module):
    """A minimal decoder: a 3x3 convolution on the last feature map.

    Args:
        channel_list: Widths of the incoming features (the contract's first argument).
        channels: Output width (``out_channels``).
    """

    includes_head = False

    def __init__(self, channel_list: Sequence[int], channels: int = 16) -> None:
        super().__init__()
        self.out_channels = int(channels)
        self.conv = nn.Sequential(nn.Conv2d(int(channel_list[-1]), channels, 3, padding=1), nn.ReLU())

    def forward(self, features: list[Tensor]) -> Tensor:
        """Decode the last feature map."""
        return self.conv(features[-1])  # type: ignore[no-any-return]
