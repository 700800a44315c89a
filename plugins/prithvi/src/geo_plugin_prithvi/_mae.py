"""The Prithvi-EO masked autoencoder: :class:`PrithviViT` encoder + transformer decoder.

State-dict layout of the v2 releases: ``encoder.*`` and ``decoder.*``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from geo_core import Model, ModelOutput
from torch import Tensor, nn

from geo_plugin_prithvi._encoder import CoordsEncoding, PosEmbedMode, PrithviViT
from geo_plugin_prithvi._layers import Block, LocationEncoder, TemporalEncoder, init_linear_layers
from geo_plugin_prithvi._pos_embed import interpolate_pos_embed, sincos_3d

__all__ = ["MAEDecoder", "PrithviMAE"]


class MAEDecoder(nn.Module):
    """Transformer decoder predicting the pixels of every patch from the visible tokens.

    Args:
        patch_size: ``(tubelet, patch, patch)`` of the encoder.
        grid_size: Token grid of the stored position embedding.
        in_chans: Bands to reconstruct.
        encoder_embed_dim: Encoder token width.
        decoder_embed_dim: Decoder token width.
        depth: Decoder blocks.
        num_heads: Decoder attention heads.
        mlp_ratio: MLP ratio.
        coords_encoding: As the encoder's.
        coords_scale_learn: As the encoder's.
        pos_embed_mode: As the encoder's.
    """

    decoder_pos_embed: Tensor

    def __init__(
        self,
        patch_size: tuple[int, int, int],
        grid_size: tuple[int, int, int],
        in_chans: int,
        encoder_embed_dim: int,
        decoder_embed_dim: int = 512,
        depth: int = 8,
        num_heads: int = 16,
        mlp_ratio: float = 4.0,
        coords_encoding: Sequence[CoordsEncoding] = (),
        coords_scale_learn: bool = False,
        pos_embed_mode: PosEmbedMode = "recompute",
    ) -> None:
        super().__init__()
        self.patch_size = patch_size
        self.grid_size = grid_size
        self.decoder_embed_dim = decoder_embed_dim
        self.pos_embed_mode = pos_embed_mode
        self.decoder_embed = nn.Linear(encoder_embed_dim, decoder_embed_dim)
        self.temporal_encoding = "time" in coords_encoding
        self.location_encoding = "location" in coords_encoding
        if self.temporal_encoding:
            self.temporal_embed_dec = TemporalEncoder(decoder_embed_dim, coords_scale_learn)
        if self.location_encoding:
            self.location_embed_dec = LocationEncoder(decoder_embed_dim, coords_scale_learn)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, decoder_embed_dim))
        self.register_buffer("decoder_pos_embed", sincos_3d(decoder_embed_dim, grid_size))
        self.decoder_blocks = nn.ModuleList(Block(decoder_embed_dim, num_heads, mlp_ratio) for _ in range(depth))
        self.decoder_norm = nn.LayerNorm(decoder_embed_dim, eps=1e-5)
        self.decoder_pred = nn.Linear(decoder_embed_dim, patch_size[0] * patch_size[1] * patch_size[2] * in_chans)
        nn.init.normal_(self.mask_token, std=0.02)
        self.apply(init_linear_layers)

    def position_embedding(self, grid: tuple[int, int, int]) -> Tensor:
        """Decoder position embedding for a token grid (see :meth:`PrithviViT.position_embedding`)."""
        stored = self.decoder_pos_embed
        if tuple(grid) == tuple(self.grid_size):
            return stored
        if self.pos_embed_mode == "interpolate":
            return interpolate_pos_embed(stored, self.grid_size, grid)
        return sincos_3d(self.decoder_embed_dim, grid).to(device=stored.device, dtype=stored.dtype)

    def forward(
        self,
        latent: Tensor,
        ids_restore: Tensor,
        grid: tuple[int, int, int],
        temporal_coords: Tensor | None = None,
        location_coords: Tensor | None = None,
    ) -> Tensor:
        """Predict ``(B, N, tubelet*p*p*C)`` patch pixels from the visible tokens ``latent`` (cls first)."""
        x = self.decoder_embed(latent)
        cls = x[:, :1, :]
        n_mask = ids_restore.shape[1] + 1 - x.shape[1]
        tokens = torch.cat([x[:, 1:, :], self.mask_token.expand(x.shape[0], n_mask, -1)], dim=1)
        tokens = torch.gather(tokens, 1, ids_restore.unsqueeze(-1).expand(-1, -1, tokens.shape[2]))
        pos = self.position_embedding(grid)
        cls = cls + pos[:, :1, :]
        tokens = tokens + pos[:, 1:, :]
        if self.temporal_encoding and temporal_coords is not None:
            enc = self.temporal_embed_dec(temporal_coords.to(tokens.device))
            tokens = tokens + enc.repeat_interleave(grid[1] * grid[2], dim=1)
        if self.location_encoding and location_coords is not None:
            tokens = tokens + self.location_embed_dec(location_coords.to(tokens.device))
        h = torch.cat([cls, tokens], dim=1)
        for block in self.decoder_blocks:
            h = block(h)
        pred: Tensor = self.decoder_pred(self.decoder_norm(h))
        return pred[:, 1:, :]


class PrithviMAE(Model):
    """Prithvi-EO masked autoencoder as a geo :class:`~geo_core.Model`.

    ``forward`` returns ``ModelOutput(output=reconstruction, auxiliary_heads={"mask": mask})``:
    the reconstruction has the input's shape, ``mask`` is 1 on masked pixels (input shape
    without the channel axis). :meth:`reconstruct` also returns the MAE loss.

    Args:
        encoder_kwargs: Arguments of :class:`PrithviViT`.
        decoder_embed_dim: Decoder width.
        decoder_depth: Decoder blocks.
        decoder_num_heads: Decoder heads.
        mask_ratio: Fraction of tokens masked by default.
        norm_pix_loss: Normalise each target patch before the loss.
    """

    def __init__(
        self,
        encoder_kwargs: dict[str, Any],
        decoder_embed_dim: int = 512,
        decoder_depth: int = 8,
        decoder_num_heads: int = 16,
        mask_ratio: float = 0.75,
        norm_pix_loss: bool = False,
    ) -> None:
        super().__init__()
        self.encoder = PrithviViT(**encoder_kwargs)
        enc = self.encoder
        self.decoder = MAEDecoder(
            patch_size=enc.patch_size,
            grid_size=enc.grid_size,
            in_chans=enc.in_chans,
            encoder_embed_dim=enc.embed_dim,
            decoder_embed_dim=decoder_embed_dim,
            depth=decoder_depth,
            num_heads=decoder_num_heads,
            mlp_ratio=float(encoder_kwargs.get("mlp_ratio", 4.0)),
            coords_encoding=encoder_kwargs.get("coords_encoding", ()),
            coords_scale_learn=bool(encoder_kwargs.get("coords_scale_learn", False)),
            pos_embed_mode=encoder_kwargs.get("pos_embed_mode", "recompute"),
        )
        self.mask_ratio = mask_ratio
        self.norm_pix_loss = norm_pix_loss
        self.out_channels = enc.out_channels

    def patchify(self, x: Tensor) -> Tensor:
        """``(B, C, T, H, W) -> (B, N, tubelet*p*p*C)`` with channels fastest."""
        b, c, t, h, w = x.shape
        s, p, q = self.encoder.patch_size
        x = x.reshape(b, c, t // s, s, h // p, p, w // q, q)
        return x.permute(0, 2, 4, 6, 3, 5, 7, 1).reshape(b, (t // s) * (h // p) * (w // q), s * p * q * c)

    def unpatchify(self, tokens: Tensor, grid: tuple[int, int, int]) -> Tensor:
        """Inverse of :meth:`patchify` for a token grid."""
        b = tokens.shape[0]
        s, p, q = self.encoder.patch_size
        gt, gh, gw = grid
        x = tokens.reshape(b, gt, gh, gw, s, p, q, -1)
        return x.permute(0, 7, 1, 4, 2, 5, 3, 6).reshape(b, -1, gt * s, gh * p, gw * q)

    @staticmethod
    def random_masking(tokens: Tensor, mask_ratio: float, noise: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor]:
        """Keep a random ``1 - mask_ratio`` of the tokens per sample.

        Returns:
            Kept tokens, the binary mask ``(B, N)`` (1 = masked) and the indices restoring the order.
        """
        b, n, d = tokens.shape
        keep = int(n * (1 - mask_ratio))
        if noise is None:
            noise = torch.rand(b, n, device=tokens.device)
        ids_shuffle = torch.argsort(noise, dim=1)
        ids_restore = torch.argsort(ids_shuffle, dim=1)
        kept = torch.gather(tokens, 1, ids_shuffle[:, :keep].unsqueeze(-1).expand(-1, -1, d))
        mask = torch.ones(b, n, device=tokens.device)
        mask[:, :keep] = 0
        return kept, torch.gather(mask, 1, ids_restore), ids_restore

    def forward_loss(self, x: Tensor, pred: Tensor, mask: Tensor) -> Tensor:
        """Mean squared error on the masked patches (``x`` 5-D, ``pred``/``mask`` per token)."""
        target = self.patchify(x)
        if self.norm_pix_loss:
            mean = target.mean(dim=-1, keepdim=True)
            var = target.var(dim=-1, keepdim=True)
            target = (target - mean) / (var + 1.0e-6) ** 0.5
        loss = ((pred - target) ** 2).mean(dim=-1)
        return (loss * mask).sum() / mask.sum().clamp(min=1.0)

    def reconstruct(
        self,
        x: Tensor,
        temporal_coords: Tensor | None = None,
        location_coords: Tensor | None = None,
        mask_ratio: float | None = None,
        noise: Tensor | None = None,
    ) -> tuple[Tensor, Tensor, Tensor]:
        """Mask, encode, decode.

        Returns:
            ``(loss, reconstruction, mask)``; reconstruction and mask have the input's layout.
        """
        squeeze = x.ndim == 4
        x5 = x.unsqueeze(2) if squeeze else x
        enc = self.encoder
        tokens, cls, grid = enc.embed(x5, temporal_coords, location_coords)
        ratio = self.mask_ratio if mask_ratio is None else mask_ratio
        kept, mask, ids_restore = self.random_masking(tokens, ratio, noise)
        h = torch.cat([cls.expand(kept.shape[0], -1, -1), kept], dim=1)
        for block in enc.blocks:
            h = block(h)
        latent = enc.norm(h)
        pred = self.decoder(latent, ids_restore, grid, temporal_coords, location_coords)
        loss = self.forward_loss(x5, pred, mask)
        image = self.unpatchify(pred, grid)
        pixel_mask = self.unpatchify(mask.unsqueeze(-1).expand(-1, -1, pred.shape[-1]), grid)[:, 0]
        if squeeze:
            image, pixel_mask = image.squeeze(2), pixel_mask.squeeze(1)
        return loss, image, pixel_mask

    def forward(self, x: Tensor, **kwargs: Any) -> ModelOutput:
        """Reconstruct ``x``; kwargs: ``temporal_coords``, ``location_coords``, ``mask_ratio``, ``noise``."""
        _, image, mask = self.reconstruct(x, **kwargs)
        return ModelOutput(output=image, auxiliary_heads={"mask": mask})

    def forward_features(
        self, x: Tensor, temporal_coords: Tensor | None = None, location_coords: Tensor | None = None
    ) -> list[Tensor]:
        """Unmasked per-block encoder outputs (as the backbone returns them)."""
        return self.encoder.forward_features(x, temporal_coords, location_coords)
