"""The Prithvi-EO ViT encoder: a backbone returning one ``(B, 1 + T'*h*w, D)`` tensor per block.

Channel convention (shared with the core necks): every returned tensor is a token
tensor of width ``embed_dim``, so ``out_channels == [embed_dim] * len(out_indices)``
whatever the number of frames. ``ReshapeTokensToImage(effective_time_dim=T')`` folds
the ``T' = frames // tubelet`` token frames into channels and reports ``T' * embed_dim``;
take ``T'`` from :attr:`PrithviViT.effective_time_dim`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Literal

import torch
from torch import Tensor, nn

from geo_plugin_prithvi._layers import Block, LocationEncoder, PatchEmbed3D, TemporalEncoder, init_linear_layers
from geo_plugin_prithvi._pos_embed import interpolate_pos_embed, sincos_3d

__all__ = ["PrithviViT", "PosEmbedMode"]

log = logging.getLogger("geo_plugin_prithvi")

PosEmbedMode = Literal["recompute", "interpolate"]
CoordsEncoding = Literal["time", "location"]


def _triple(patch_size: int | Sequence[int]) -> tuple[int, int, int]:
    if isinstance(patch_size, int):
        return (1, patch_size, patch_size)
    ps = tuple(int(p) for p in patch_size)
    if len(ps) == 2:
        return (1, ps[0], ps[1])
    if len(ps) != 3:
        raise ValueError(f"patch_size must be an int, (h, w) or (tubelet, h, w), got {patch_size!r}")
    return ps[0], ps[1], ps[2]


def _pair(size: int | Sequence[int]) -> tuple[int, int]:
    if isinstance(size, int):
        return (size, size)
    h, w = (int(s) for s in size)
    return (h, w)


class PrithviViT(nn.Module):
    """Prithvi-EO vision transformer encoder.

    Args:
        in_chans: Input bands.
        embed_dim: Token width.
        depth: Number of transformer blocks.
        num_heads: Attention heads.
        mlp_ratio: MLP hidden width / ``embed_dim``.
        patch_size: ``(tubelet, patch, patch)`` or an int patch (tubelet 1).
        num_frames: Frames the model is built for; sets the stored position embedding and
            :attr:`effective_time_dim`. Inputs with another frame count still run.
        img_size: Image size of the stored position embedding (checkpoint layout only;
            any multiple of the patch size runs). A patch size that does not divide it (13 against
            224) is fine: the stored grid is ``img_size // patch`` per side, and pixel-wise models pad
            inputs to a multiple of the patch and crop the output back.
        coords_encoding: ``"time"`` and/or ``"location"``: add encodings of the
            ``temporal_coords`` / ``location_coords`` forward arguments.
        coords_scale_learn: Learn the scale of the coordinate encodings (the ``_tl`` releases do).
        drop_path: Stochastic-depth rate of every block (the same for all, as in the reference).
        out_indices: Blocks whose outputs :meth:`forward` returns (default: every block).
            The last block's output is layer-normed, the others are raw, as in the reference.
        pos_embed_mode: ``"recompute"`` (default): the fixed 3-D sin-cos embedding is computed
            for the actual token grid; ``"interpolate"``: resample the stored grid bicubically
            (TerraTorch's behaviour for sizes other than ``img_size``).

    Example:
        >>> import torch
        >>> vit = PrithviViT(in_chans=6, embed_dim=64, depth=2, num_heads=2, patch_size=8)
        >>> [f.shape for f in vit(torch.zeros(1, 6, 32, 48))]
        [torch.Size([1, 25, 64]), torch.Size([1, 25, 64])]
    """

    pos_embed: Tensor

    def __init__(
        self,
        in_chans: int = 6,
        embed_dim: int = 768,
        depth: int = 12,
        num_heads: int = 12,
        mlp_ratio: float = 4.0,
        patch_size: int | Sequence[int] = (1, 16, 16),
        num_frames: int = 1,
        img_size: int | Sequence[int] = 224,
        coords_encoding: Sequence[CoordsEncoding] = (),
        coords_scale_learn: bool = False,
        drop_path: float = 0.0,
        out_indices: Sequence[int] | None = None,
        pos_embed_mode: PosEmbedMode = "recompute",
    ) -> None:
        super().__init__()
        unknown = set(coords_encoding) - {"time", "location"}
        if unknown:
            raise ValueError(f"coords_encoding accepts 'time' and 'location', got {sorted(unknown)}")
        if pos_embed_mode not in ("recompute", "interpolate"):
            raise ValueError(f"pos_embed_mode must be 'recompute' or 'interpolate', got {pos_embed_mode!r}")
        self.in_chans = in_chans
        self.embed_dim = embed_dim
        self.depth = depth
        self.num_frames = num_frames
        self.img_size = _pair(img_size)
        self.pos_embed_mode = pos_embed_mode
        self.patch_embed = PatchEmbed3D(_triple(patch_size), in_chans, embed_dim)
        self.patch_size = self.patch_embed.patch_size
        if num_frames % self.patch_size[0]:
            raise ValueError(f"num_frames={num_frames} is not a multiple of the tubelet size {self.patch_size[0]}")
        # The stored position embedding covers img_size // patch tokens per side (as TerraTorch's does), so a
        # patch that does not divide img_size (13 against 224) builds; inputs are padded to the patch by the model.
        _, ph, pw = self.patch_size
        self.grid_size = (
            num_frames // self.patch_size[0],
            max(1, self.img_size[0] // ph),
            max(1, self.img_size[1] // pw),
        )

        self.temporal_encoding = "time" in coords_encoding
        self.location_encoding = "location" in coords_encoding
        if self.temporal_encoding:
            if self.patch_size[0] != 1:
                raise ValueError(f"temporal encoding needs a tubelet size of 1, got patch_size={self.patch_size}")
            self.temporal_embed_enc = TemporalEncoder(embed_dim, coords_scale_learn)
        if self.location_encoding:
            self.location_embed_enc = LocationEncoder(embed_dim, coords_scale_learn)

        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        self.register_buffer("pos_embed", sincos_3d(embed_dim, self.grid_size))
        self.blocks = nn.ModuleList(Block(embed_dim, num_heads, mlp_ratio, drop_path) for _ in range(depth))
        self.norm = nn.LayerNorm(embed_dim, eps=1e-5)

        indices = list(range(depth)) if out_indices is None else [int(i) for i in out_indices]
        bad = [i for i in indices if not -depth <= i < depth]
        if bad:
            raise ValueError(f"out_indices {bad} out of range for a model with {depth} blocks")
        self.out_indices = [i % depth for i in indices]
        self.out_channels = [embed_dim] * len(self.out_indices)
        self.output_format = "tokens"  # (B, 1 + N, D) per block: geo reshapes them for image decoders
        self.prefix_tokens = 1
        self._pos_cache: dict[tuple[int, int, int], Tensor] = {}
        self._init_weights()

    @property
    def effective_time_dim(self) -> int:
        """Token frames ``num_frames // tubelet``: the ``effective_time_dim`` of ``ReshapeTokensToImage``."""
        return self.num_frames // self.patch_size[0]

    def _init_weights(self) -> None:
        w = self.patch_embed.proj.weight.data
        nn.init.xavier_uniform_(w.view(w.shape[0], -1))
        if self.patch_embed.proj.bias is not None:
            nn.init.zeros_(self.patch_embed.proj.bias)
        nn.init.normal_(self.cls_token, std=0.02)
        self.blocks.apply(init_linear_layers)
        init_linear_layers(self.norm)

    def position_embedding(self, grid: tuple[int, int, int]) -> Tensor:
        """The ``(1, 1 + t*h*w, D)`` position embedding (cls slot first) for a token grid."""
        grid = (int(grid[0]), int(grid[1]), int(grid[2]))  # plain ints: a usable cache key under torch.export
        stored = self.pos_embed
        if tuple(grid) == tuple(self.grid_size):
            return stored
        if self.pos_embed_mode == "interpolate":
            return interpolate_pos_embed(stored, self.grid_size, grid)
        emb = self._pos_cache.get(grid)
        if emb is None:
            emb = sincos_3d(self.embed_dim, grid)
            self._pos_cache[grid] = emb
        return emb.to(device=stored.device, dtype=stored.dtype)

    def embed(
        self, x: Tensor, temporal_coords: Tensor | None = None, location_coords: Tensor | None = None
    ) -> tuple[Tensor, Tensor, tuple[int, int, int]]:
        """Patch-embed ``x`` and add position and coordinate encodings.

        Returns:
            Tokens without cls ``(B, N, D)``, the cls token with its position ``(1, 1, D)``, and the grid.
        """
        if x.ndim == 4:
            x = x.unsqueeze(2)
        if x.ndim != 5:
            raise ValueError(f"expected input (B, C, H, W) or (B, C, T, H, W), got shape {tuple(x.shape)}")
        tokens, grid = self.patch_embed(x)
        pos = self.position_embedding(grid)
        tokens = tokens + pos[:, 1:, :]
        if self.temporal_encoding and temporal_coords is not None:
            if temporal_coords.shape[1] != grid[0]:
                raise ValueError(f"temporal_coords has {temporal_coords.shape[1]} frames but the input has {grid[0]}")
            enc = self.temporal_embed_enc(temporal_coords.to(tokens.device))
            tokens = tokens + enc.repeat_interleave(grid[1] * grid[2], dim=1)
        if self.location_encoding and location_coords is not None:
            tokens = tokens + self.location_embed_enc(location_coords.to(tokens.device))
        cls = self.cls_token + pos[:, :1, :]
        return tokens, cls, grid

    def forward_features(
        self,
        x: Tensor,
        temporal_coords: Tensor | None = None,
        location_coords: Tensor | None = None,
        stop_after: int | None = None,
    ) -> list[Tensor]:
        """Run the blocks; return their outputs ``(B, 1 + N, D)``, the last block's layer-normed.

        Args:
            x: See :meth:`forward`.
            temporal_coords: See :meth:`forward`.
            location_coords: See :meth:`forward`.
            stop_after: Stop after this block index (later blocks are not run).
        """
        tokens, cls, _ = self.embed(x, temporal_coords, location_coords)
        h = torch.cat([cls.expand(tokens.shape[0], -1, -1), tokens], dim=1)
        last = self.depth - 1 if stop_after is None else stop_after
        out = []
        for i, block in enumerate(self.blocks):
            if i > last:
                break
            h = block(h)
            out.append(self.norm(h) if i == self.depth - 1 else h)
        return out

    def forward(
        self, x: Tensor, temporal_coords: Tensor | None = None, location_coords: Tensor | None = None
    ) -> list[Tensor]:
        """Return the outputs of the blocks in :attr:`out_indices`.

        Args:
            x: ``(B, C, H, W)`` or ``(B, C, T, H, W)``; ``H``, ``W`` (and ``T``) multiples of the patch (tubelet).
            temporal_coords: ``(B, T, 2)`` year and day of year, used when built with ``"time"``.
            location_coords: ``(B, 2)`` latitude and longitude, used when built with ``"location"``.
        """
        feats = self.forward_features(x, temporal_coords, location_coords, stop_after=max(self.out_indices, default=0))
        return [feats[i] for i in self.out_indices]
