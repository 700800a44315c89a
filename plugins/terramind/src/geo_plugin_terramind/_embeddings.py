"""Per-modality patch embeddings (``encoder_embeddings.<key>.*`` in the checkpoints).

Each embedding returns ``tokens + position embedding + modality embedding`` as ``(B, N, dim)``.
The position embedding is the fixed sin-cos grid of the pre-training size (224 px, 14 x 14 patches),
resized bicubically for other input sizes as TerraTorch does.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from geo_plugin_terramind._layers import resize_pos_emb, sincos_2d

__all__ = ["ImageEmbedding", "TokenEmbedding"]


class _Embedding(nn.Module):
    pos_emb: Tensor

    def __init__(self, dim: int, patch_size: int, img_size: int) -> None:
        super().__init__()
        self.dim = dim
        self.patch_size = patch_size
        self.img_size = img_size
        side = img_size // patch_size
        self.register_buffer("pos_emb", sincos_2d(side, side, dim))
        self.mod_emb = nn.Parameter(torch.zeros(1, 1, dim))
        nn.init.normal_(self.mod_emb, std=0.02)

    def position(self, grid: tuple[int, int]) -> Tensor:
        side = self.img_size // self.patch_size
        if grid == (side, side):
            return self.pos_emb + self.mod_emb
        return resize_pos_emb(self.pos_emb, grid) + self.mod_emb


class ImageEmbedding(_Embedding):
    """Linear projection of non-overlapping ``patch x patch`` pixel patches (no bias).

    The projection's input is ordered ``(row in patch, column in patch, band)``, band fastest
    (the released layout of ``proj.weight``: ``(dim, patch * patch * bands)``).
    """

    def __init__(self, in_chans: int, dim: int, patch_size: int = 16, img_size: int = 224) -> None:
        super().__init__(dim, patch_size, img_size)
        self.in_chans = in_chans
        self.proj = nn.Linear(in_chans * patch_size * patch_size, dim, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        """``(B, C, H, W)`` pixels to ``(B, H/p * W/p, dim)`` embedded tokens."""
        if x.dim() != 4:
            raise ValueError(f"expected (B, C, H, W) pixels, got shape {tuple(x.shape)}")
        b, c, h, w = x.shape
        p = self.patch_size
        if c != self.in_chans:
            raise ValueError(f"expected {self.in_chans} bands, got {c} (shape {tuple(x.shape)})")
        if h % p or w % p:
            raise ValueError(f"{h}x{w} pixels: both sides must be multiples of the patch size {p}")
        gh, gw = h // p, w // p
        patches = x.reshape(b, c, gh, p, gw, p).permute(0, 2, 4, 3, 5, 1).reshape(b, gh * gw, p * p * c)
        out: Tensor = self.proj(patches) + self.position((gh, gw))
        return out


class TokenEmbedding(_Embedding):
    """Embedding table for the token ids of a tokenized modality (NDVI, LULC)."""

    def __init__(self, vocab_size: int, dim: int, patch_size: int = 16, img_size: int = 224) -> None:
        super().__init__(dim, patch_size, img_size)
        self.vocab_size = vocab_size
        self.token_emb = nn.Embedding(vocab_size, dim)

    def forward(self, ids: Tensor) -> Tensor:
        """``(B, h, w)`` (or square ``(B, h*w)``) integer ids to ``(B, h*w, dim)`` embedded tokens."""
        if ids.is_floating_point():
            raise ValueError(
                f"expected integer token ids of shape (B, H/{self.patch_size}, W/{self.patch_size}), got a float "
                f"tensor of shape {tuple(ids.shape)}. This modality was pre-trained tokenized; geo-plugin-terramind "
                "does not ship TerraMind's tokenizers: tokenize it beforehand, or declare it as a new raw modality "
                "({name: number_of_channels}) to learn a patch embedding for it"
            )
        b = ids.shape[0]
        if ids.dim() == 3:
            grid = (int(ids.shape[1]), int(ids.shape[2]))
        else:
            side = math.isqrt(int(ids.shape[1]))
            if side * side != ids.shape[1]:
                raise ValueError(f"{ids.shape[1]} token ids are not a square grid; give them as (B, h, w)")
            grid = (side, side)
        out: Tensor = self.token_emb(ids.reshape(b, -1).long()) + self.position(grid)
        return out
