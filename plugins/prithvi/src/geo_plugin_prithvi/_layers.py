"""Building blocks: 3-D patch embedding, coordinate encoders and the pre-norm transformer block.

Parameter names follow the released checkpoints (``patch_embed.proj``, ``blocks.N.attn.qkv``,
``blocks.N.mlp.fc1`` ...), so the state dicts load without renaming and LoRA targets
``qkv``, ``mlp.fc1``, ``mlp.fc2`` are plain ``nn.Linear`` layers.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from geo_plugin_prithvi._pos_embed import sincos_1d

__all__ = ["Attention", "Block", "LocationEncoder", "Mlp", "PatchEmbed3D", "TemporalEncoder"]


class PatchEmbed3D(nn.Module):
    """Cut ``(B, C, T, H, W)`` into ``tubelet x patch x patch`` cubes and project each to ``embed_dim``.

    Returns tokens ``(B, T' * h * w, embed_dim)`` ordered time-major, and the grid ``(T', h, w)``.
    """

    def __init__(self, patch_size: tuple[int, int, int], in_chans: int, embed_dim: int) -> None:
        super().__init__()
        self.patch_size: tuple[int, int, int] = (int(patch_size[0]), int(patch_size[1]), int(patch_size[2]))
        self.in_chans = in_chans
        self.proj = nn.Conv3d(in_chans, embed_dim, kernel_size=self.patch_size, stride=self.patch_size)

    def grid(self, shape: tuple[int, int, int]) -> tuple[int, int, int]:
        """Token grid for an input of ``(T, H, W)``; raises if a size is not a multiple of the patch."""
        t, h, w = shape
        pt, ph, pw = self.patch_size
        if t % pt or h % ph or w % pw:
            raise ValueError(
                f"input frames x height x width {t}x{h}x{w} is not a multiple of the patch size {pt}x{ph}x{pw}; "
                "pad or crop the input (for pixel-wise tasks pad and crop the prediction back)"
            )
        return t // pt, h // ph, w // pw

    def forward(self, x: Tensor) -> tuple[Tensor, tuple[int, int, int]]:
        """Embed ``x`` and return ``(tokens, grid)``."""
        if x.shape[1] != self.in_chans:
            raise ValueError(f"expected {self.in_chans} input channels (bands), got {x.shape[1]} in {tuple(x.shape)}")
        grid = self.grid((x.shape[2], x.shape[3], x.shape[4]))
        return self.proj(x).flatten(2).transpose(1, 2), grid


class TemporalEncoder(nn.Module):
    """Sin-cos encoding of ``(year, day of year)`` per frame: ``(B, T, 2) -> (B, T, dim)``, times a scale."""

    def __init__(self, embed_dim: int, trainable_scale: bool = False) -> None:
        super().__init__()
        self.year_dim = embed_dim // 2
        self.day_dim = embed_dim - self.year_dim
        if trainable_scale:
            self.scale = nn.Parameter(torch.full((1,), 0.1))
        else:
            self.register_buffer("scale", torch.ones(1))

    def forward(self, temporal_coords: Tensor) -> Tensor:
        """Encode ``temporal_coords`` ``(B, T, 2)`` (float)."""
        if temporal_coords.ndim != 3 or temporal_coords.shape[-1] != 2:
            raise ValueError(
                f"temporal_coords must be (B, T, 2) [year, day of year], got {tuple(temporal_coords.shape)}"
            )
        coords = temporal_coords.float()
        b, t = coords.shape[:2]
        year = sincos_1d(self.year_dim, coords[:, :, 0]).reshape(b, t, -1)
        day = sincos_1d(self.day_dim, coords[:, :, 1]).reshape(b, t, -1)
        out: Tensor = self.scale * torch.cat([year, day], dim=-1)
        return out


class LocationEncoder(nn.Module):
    """Sin-cos encoding of ``(lat, lon)``: ``(B, 2) -> (B, 1, dim)``, times a scale."""

    def __init__(self, embed_dim: int, trainable_scale: bool = False) -> None:
        super().__init__()
        self.lat_dim = embed_dim // 2
        self.lon_dim = embed_dim - self.lat_dim
        if trainable_scale:
            self.scale = nn.Parameter(torch.full((1,), 0.1))
        else:
            self.register_buffer("scale", torch.ones(1))

    def forward(self, location_coords: Tensor) -> Tensor:
        """Encode ``location_coords`` ``(B, 2)`` (float)."""
        if location_coords.ndim != 2 or location_coords.shape[-1] != 2:
            raise ValueError(f"location_coords must be (B, 2) [lat, lon], got {tuple(location_coords.shape)}")
        coords = location_coords.float()
        b = coords.shape[0]
        lat = sincos_1d(self.lat_dim, coords[:, 0]).reshape(b, 1, -1)
        lon = sincos_1d(self.lon_dim, coords[:, 1]).reshape(b, 1, -1)
        out: Tensor = self.scale * torch.cat([lat, lon], dim=-1)
        return out


class Attention(nn.Module):
    """Multi-head self-attention with a fused ``qkv`` projection."""

    def __init__(self, dim: int, num_heads: int) -> None:
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"embed_dim {dim} is not divisible by num_heads {num_heads}")
        self.num_heads = num_heads
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: Tensor) -> Tensor:
        """Attend over the token axis of ``(B, N, dim)``."""
        b, n, d = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.num_heads, d // self.num_heads).permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2])
        y: Tensor = self.proj(out.transpose(1, 2).reshape(b, n, d))
        return y


class Mlp(nn.Module):
    """``fc1 -> GELU -> fc2``."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: Tensor) -> Tensor:
        """Apply the MLP."""
        y: Tensor = self.fc2(self.act(self.fc1(x)))
        return y


class Block(nn.Module):
    """Pre-norm transformer block with optional stochastic depth."""

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float = 4.0, drop_path: float = 0.0) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-5)
        self.attn = Attention(dim, num_heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-5)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))
        self.drop_path = drop_path

    def _drop(self, x: Tensor) -> Tensor:
        if not self.training or self.drop_path == 0.0:
            return x
        keep = 1.0 - self.drop_path
        mask = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(keep)
        return x * mask / keep

    def forward(self, x: Tensor) -> Tensor:
        """Apply attention and MLP with residuals."""
        x = x + self._drop(self.attn(self.norm1(x)))
        return x + self._drop(self.mlp(self.norm2(x)))


def init_linear_layers(module: nn.Module) -> None:
    """Xavier-uniform Linear weights, zero biases, unit LayerNorms (the MAE initialisation)."""
    if isinstance(module, nn.Linear):
        nn.init.xavier_uniform_(module.weight)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.LayerNorm):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)
