"""EmbeddingGenerationTask: run any backbone over a predict set and stream embeddings to disk."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal

import lightning.pytorch as pl
import torch
from torch import Tensor, nn

from geo_core._errors import ConfigError
from geo_core.embeddings._embedder import (
    DEFAULT_FORMAT,
    DEFAULT_OUTPUT_DIR,
    DEFAULT_POOLING,
    check_embedding_options,
    chosen_layers,
    embed_batch,
)
from geo_core.embeddings._pooling import Pooling
from geo_core.embeddings._writers import (
    is_complete,
    output_path_for,
    source_georef,
    write_embedding_geotiff,
    write_embedding_parquet,
)

__all__ = ["EmbeddingGenerationTask"]

_RESERVED = frozenset({"image", "mask", "label", "filename", "metadata"})


class EmbeddingGenerationTask(pl.LightningModule):
    """Write one embedding file per input of the datamodule's predict set.

    Memory stays bounded by one batch: every batch is written and dropped
    (run ``trainer.predict(..., return_predictions=False)``; ``geo embed`` does).
    A rerun skips inputs whose file exists and opens (files are written atomically).

    Args:
        backbone: ``BACKBONES`` name or a ready module (``out_channels`` + list output).
        backbone_args: Arguments of the backbone's builder.
        layers: Indices into the backbone's feature list (default: the last).
        pooling: ``cls``, ``mean``, ``max`` or ``none`` (a patch-level grid).
        output_dir: Folder of the embedding files.
        output_format: ``tiff`` (GeoTIFF, one band per channel, the input's georeferencing) or
            ``parquet`` (GeoParquet, one row per input: filename, footprint, vector).
        skip_existing: Skip inputs whose output is complete.

    Example:
        >>> task = EmbeddingGenerationTask(backbone="tiny_vit", backbone_args={"in_channels": 6},
        ...                                pooling="cls", output_dir="emb", output_format="parquet")  # doctest: +SKIP
    """

    monitor: ClassVar[str | None] = None

    def __init__(
        self,
        backbone: str | nn.Module,
        backbone_args: dict[str, Any] | None = None,
        layers: list[int] | None = None,
        pooling: Pooling = DEFAULT_POOLING,
        output_dir: str = DEFAULT_OUTPUT_DIR,
        output_format: Literal["tiff", "parquet"] = DEFAULT_FORMAT,
        skip_existing: bool = True,
    ) -> None:
        super().__init__()
        self.save_hyperparameters(ignore=["backbone"] if isinstance(backbone, nn.Module) else None)
        check_embedding_options(pooling, output_format)
        if isinstance(backbone, nn.Module):
            if backbone_args:
                raise ConfigError("backbone_args only apply to a backbone given by name", key="backbone_args")
            self.backbone = backbone
        else:
            from geo_core import BACKBONES

            self.backbone = BACKBONES.build(backbone, **dict(backbone_args or {}))
        self.layers = chosen_layers(self.backbone, layers)
        self.pooling: Pooling = pooling
        self.output_dir = Path(output_dir)
        self.output_format = output_format
        self.skip_existing = skip_existing
        self.counts = {"written": 0, "skipped": 0}
        for p in self.backbone.parameters():
            p.requires_grad_(False)

    def forward(self, x: Tensor, **kwargs: Any) -> Tensor:
        """Embeddings of a batch: ``(B, D)`` vectors or ``(B, D, h, w)`` grids."""
        return embed_batch(self.backbone, self.layers, self.pooling, x, **kwargs)

    def predict_step(self, batch: Mapping[str, Any], batch_idx: int, dataloader_idx: int = 0) -> dict[str, int]:
        """Embed the batch's pending inputs and write their files."""
        if "filename" not in batch:
            raise KeyError("EmbeddingGenerationTask needs 'filename' in predict batches to name its outputs")
        names = [str(f) for f in batch["filename"]]
        targets = [output_path_for(self.output_dir, n, self.output_format) for n in names]
        todo = [i for i, t in enumerate(targets) if not (self.skip_existing and is_complete(t))]
        self.counts["skipped"] += len(names) - len(todo)
        if not todo:
            return {"written": 0, "skipped": len(names)}
        idx = torch.tensor(todo, device=batch["image"].device)
        kwargs = {
            k: (v.index_select(0, idx) if isinstance(v, Tensor) else v) for k, v in batch.items() if k not in _RESERVED
        }
        emb = self(batch["image"].index_select(0, idx), **kwargs).float().cpu().numpy()
        self.output_dir.mkdir(parents=True, exist_ok=True)
        for row, i in enumerate(todo):
            georef = source_georef(names[i])
            if self.output_format == "parquet":
                write_embedding_parquet(targets[i], names[i], emb[row], georef)
            else:
                grid = emb[row] if emb.ndim == 4 else emb[row][:, None, None]
                write_embedding_geotiff(targets[i], grid, georef)
        self.counts["written"] += len(todo)
        return {"written": len(todo), "skipped": len(names) - len(todo)}
