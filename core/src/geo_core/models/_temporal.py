"""Run a single-frame backbone over ``(B, C, T, H, W)`` inputs and merge per-frame features."""

from __future__ import annotations

from typing import Any, Literal

import torch
from torch import Tensor, nn

from geo_core._contracts import _ensure_tensor_list
from geo_core._errors import ConfigError, InputDataError
from geo_core.models._routing import filter_kwargs, forward_kwargs

__all__ = ["TemporalWrapper", "TemporalPooling"]

TemporalPooling = Literal["mean", "max", "concat", "diff"]


class TemporalWrapper(nn.Module):
    """Apply ``encoder`` to every frame and pool the features over time.

    Args:
        encoder: A backbone taking ``(B, C, H, W)``.
        pooling: ``mean`` or ``max`` over frames, ``concat`` frames on the
            channel dim (needs ``n_timestamps``), or ``diff`` (last frame minus
            first; exactly two frames).
        n_timestamps: Number of frames (required for ``concat``).

    Feature maps ``(B, C, H, W)`` are merged on ``C``, tokens ``(B, N, D)`` on ``D``.
    """

    def __init__(self, encoder: nn.Module, pooling: TemporalPooling = "mean", n_timestamps: int | None = None) -> None:
        super().__init__()
        if pooling not in ("mean", "max", "concat", "diff"):
            raise ConfigError(
                f"temporal_pooling must be mean, max, concat or diff, got {pooling!r}", key="backbone_temporal_pooling"
            )
        if pooling == "concat" and not n_timestamps:
            raise ConfigError(
                "temporal_pooling='concat' needs the number of frames: set backbone_n_timestamps",
                key="backbone_n_timestamps",
            )
        self.encoder = encoder
        self._encoder_kwargs = forward_kwargs(encoder)
        self.pooling = pooling
        self.n_timestamps = n_timestamps
        widths = [int(c) for c in encoder.out_channels]  # type: ignore[union-attr]
        self.out_channels = [c * n_timestamps for c in widths] if pooling == "concat" and n_timestamps else widths
        for name in ("in_channels", "in_chans"):
            if isinstance(getattr(encoder, name, None), int):
                setattr(self, name, getattr(encoder, name))

    def forward(self, x: Tensor, **kwargs: Any) -> list[Tensor]:
        """Encode every frame of ``x`` and pool over time."""
        if x.dim() != 5:
            raise InputDataError(f"the temporal backbone expects (B, C, T, H, W) input, got shape {tuple(x.shape)}")
        b, c, t, h, w = x.shape
        if self.pooling == "concat" and t != self.n_timestamps:
            raise InputDataError(f"temporal_pooling='concat' was built for {self.n_timestamps} frames, input has {t}")
        if self.pooling == "diff" and t != 2:
            raise InputDataError(f"temporal_pooling='diff' needs exactly 2 frames, input has {t}")
        frames = x.permute(0, 2, 1, 3, 4).reshape(b * t, c, h, w)
        feats = _ensure_tensor_list(self.encoder(frames, **filter_kwargs(kwargs, self._encoder_kwargs)), "the backbone")
        return [self._pool(f.reshape(b, t, *f.shape[1:])) for f in feats]

    def _pool(self, f: Tensor) -> Tensor:
        # f: (B, T, C, H, W) or (B, T, N, D)
        if self.pooling == "mean":
            return f.mean(dim=1)
        if self.pooling == "max":
            return f.amax(dim=1)
        if self.pooling == "diff":
            return f[:, -1] - f[:, 0]
        if f.dim() == 5:
            return f.flatten(1, 2)
        return torch.cat(list(f.unbind(dim=1)), dim=-1)
