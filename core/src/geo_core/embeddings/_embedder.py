"""What an embedding run computes, without Lightning: backbone features, chosen layers, pooled.

:class:`~geo_core.tasks.EmbeddingGenerationTask` (the Lightning task of ``geo embed`` over a
datamodule) and :class:`Embedder` (what ``geo embed --input`` runs when it needs no Lightning,
see :mod:`geo_core.runs._light`) share the option checks and :func:`embed_batch`, so both write
the same bytes.
"""

from __future__ import annotations

from typing import Any, Literal

import torch
from torch import Tensor, nn

from geo_core._errors import ConfigError
from geo_core.embeddings._pooling import Pooling, pool_features

__all__ = [
    "Embedder",
    "check_embedding_options",
    "chosen_layers",
    "embed_batch",
    "DEFAULT_POOLING",
    "DEFAULT_FORMAT",
    "DEFAULT_OUTPUT_DIR",
]

DEFAULT_POOLING: Pooling = "mean"
DEFAULT_FORMAT: Literal["tiff", "parquet"] = "tiff"
DEFAULT_OUTPUT_DIR = "embeddings"


def check_embedding_options(pooling: str, output_format: str) -> None:
    """Check the pooling and the output format (before any backbone is built).

    Raises:
        ConfigError: An unknown pooling or format, or ``none`` pooling into parquet (names the choices).
    """
    if pooling not in ("cls", "mean", "max", "none"):
        raise ConfigError(f"pooling must be cls, mean, max or none, got {pooling!r}", key="pooling")
    if output_format not in ("tiff", "parquet"):
        raise ConfigError(f"output_format must be 'tiff' or 'parquet', got {output_format!r}", key="output_format")
    if output_format == "parquet" and pooling == "none":
        raise ConfigError(
            "pooling 'none' gives a grid per input; write it as output_format 'tiff' or pool it "
            "('cls', 'mean', 'max') for parquet",
            key="pooling",
        )


def chosen_layers(backbone: nn.Module, layers: list[int] | None) -> list[int]:
    """The layer indices to embed (default: the last), checked against the backbone's outputs.

    Raises:
        ConfigError: An index out of the backbone's range.
    """
    chosen = list(layers) if layers is not None else [-1]
    n_out = len(getattr(backbone, "out_channels", []) or []) or None
    if n_out is not None:
        bad = [i for i in chosen if not -n_out <= i < n_out]
        if bad:
            raise ConfigError(f"layers {bad} out of range for a backbone with {n_out} outputs", key="layers")
    return chosen


def embed_batch(backbone: nn.Module, layers: list[int], pooling: Pooling, x: Tensor, **kwargs: Any) -> Tensor:
    """Embeddings of a batch: ``(B, D)`` vectors or ``(B, D, h, w)`` grids (layers concatenated)."""
    feats = backbone(x, **kwargs)
    if isinstance(feats, Tensor):
        feats = [feats]
    size = (int(x.shape[-2]), int(x.shape[-1]))
    frames = int(x.shape[2]) if x.dim() == 5 else 1
    pooled = [pool_features(feats[i], pooling, size, frames) for i in layers]
    if len(pooled) == 1:
        return pooled[0]
    if pooling == "none" and len({p.shape[-2:] for p in pooled}) > 1:
        raise ConfigError(
            f"pooling 'none' over several layers needs grids of one size; got {[tuple(p.shape[-2:]) for p in pooled]}",
            key="layers",
        )
    return torch.cat(pooled, dim=1)


class Embedder(nn.Module):
    """A backbone with the embedding options of ``EmbeddingGenerationTask`` (same ``backbone.*`` weight keys).

    Args:
        backbone: The backbone module.
        layers: Indices into the backbone's feature list (default: the last).
        pooling: ``cls``, ``mean``, ``max`` or ``none``.
        output_format: ``tiff`` or ``parquet``.
    """

    def __init__(
        self,
        backbone: nn.Module,
        layers: list[int] | None = None,
        pooling: Pooling = DEFAULT_POOLING,
        output_format: str = DEFAULT_FORMAT,
    ) -> None:
        super().__init__()
        check_embedding_options(pooling, output_format)
        self.layers = chosen_layers(backbone, layers)
        self.backbone = backbone
        self.pooling: Pooling = pooling
        self.output_format = output_format
        for p in self.backbone.parameters():
            p.requires_grad_(False)

    def forward(self, x: Tensor, **kwargs: Any) -> Tensor:
        """Embeddings of a batch (see :func:`embed_batch`)."""
        return embed_batch(self.backbone, self.layers, self.pooling, x, **kwargs)
