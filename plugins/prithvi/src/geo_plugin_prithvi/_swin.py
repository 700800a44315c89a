"""Prithvi Swin: a hierarchical Swin transformer backbone (TerraTorch's ``prithvi_swin_B`` / ``_L``).

Four stages at strides 4, 8, 16, 32; every stage's layer-normed output is one ``(B, C, H, W)``
feature map (``out_channels = [C, 2C, 4C, 8C]``), the pyramid pyramid decoders take directly.
Any input size runs: the patch embedding replicate-pads to a multiple of 4, windows and merging
pad internally. The parameter names are the mmseg Swin layout (:mod:`._swin_layers`).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from geo_plugin_prithvi._swin_layers import PatchEmbed, SwinStage

__all__ = ["PrithviSwin"]


class PrithviSwin(nn.Module):
    """Swin transformer returning the feature map of every stage in ``out_indices``.

    Args:
        in_chans: Input bands.
        embed_dim: Width of the first stage (doubles at every stage).
        depths: Blocks per stage.
        num_heads: Attention heads per stage.
        window_size: Attention window side (tokens).
        patch_size: Patch side of the first embedding.
        mlp_ratio: Feed-forward hidden width / width.
        drop_path_rate: Stochastic depth, linearly increasing over all blocks (TerraTorch's default 0.1).
        out_indices: Stages to return.
    """

    def __init__(
        self,
        in_chans: int = 6,
        embed_dim: int = 128,
        depths: Sequence[int] = (2, 2, 18, 2),
        num_heads: Sequence[int] = (4, 8, 16, 32),
        window_size: int = 7,
        patch_size: int = 4,
        mlp_ratio: float = 4.0,
        drop_path_rate: float = 0.1,
        out_indices: Sequence[int] | None = None,
    ) -> None:
        super().__init__()
        if len(depths) != len(num_heads):
            raise ValueError(f"depths {list(depths)} and num_heads {list(num_heads)} must have one entry per stage")
        n = len(depths)
        idx = list(range(n)) if out_indices is None else [i + n if i < 0 else i for i in out_indices]
        bad = [i for i in idx if not 0 <= i < n]
        if bad:
            raise ValueError(f"out_indices {list(out_indices or [])} out of range for {n} stages")
        self.in_chans = in_chans
        self.output_format = "image"
        self.output_stride = patch_size * 2 ** (n - 1)
        self.out_indices = idx
        self.patch_embed = PatchEmbed(in_chans, embed_dim, patch_size)
        rates = torch.linspace(0, drop_path_rate, sum(depths)).tolist()
        self.stages = nn.ModuleList()
        for i, (depth, heads) in enumerate(zip(depths, num_heads, strict=True)):
            start = sum(depths[:i])
            self.stages.append(
                SwinStage(
                    embed_dim * 2**i,
                    depth,
                    heads,
                    window_size,
                    mlp_ratio,
                    rates[start : start + depth],
                    downsample=i < n - 1,
                )
            )
        self.widths = [embed_dim * 2**i for i in range(n)]
        self._init_weights()

    @property
    def out_channels(self) -> list[int]:
        """Channels of the returned feature maps."""
        return [self.widths[i] for i in self.out_indices]

    def _init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def forward(self, x: Tensor) -> list[Tensor]:
        """``(B, C, H, W)`` to the feature maps of ``out_indices``, at strides 4, 8, 16, 32."""
        if x.dim() != 4:
            raise ValueError(f"Prithvi Swin takes (B, C, H, W) images, got shape {tuple(x.shape)}")
        if x.shape[1] != self.in_chans:
            raise ValueError(f"expected {self.in_chans} input channels (bands), got {x.shape[1]}")
        tokens, hw = self.patch_embed(x)
        feats = []
        for stage in self.stages:
            feature, tokens, hw = stage(tokens, hw)
            feats.append(feature)
        return [feats[i] for i in self.out_indices]
