"""Predict on a catalog, laid out as ``zoobot.pytorch.predictions.predict_on_catalog``.

>>> from geo_plugin_zoobot import predict_on_catalog
>>> predict_on_catalog.predict(catalog, model, "preds.csv", label_cols=["clear", "cloudy"])  # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import torch
from geo_core import ConfigError, atomic_path
from torch import Tensor, nn

from geo_plugin_zoobot._datamodule import CatalogDataModule, read_catalog

if TYPE_CHECKING:
    from geo_plugin_zoobot._base import FinetuneableZoobotAbstract

__all__ = ["predict", "default_label_cols", "predictions_to_frame"]

log = logging.getLogger("geo_plugin_zoobot")


def default_label_cols(model: nn.Module, n_outputs: int) -> list[str]:
    """Column names when none are given: the schema's answers, ``class_<i>``, or ``prediction``."""
    schema = getattr(model, "schema", None)
    if schema is not None:
        return list(schema.label_cols)
    if n_outputs == 1:
        return ["prediction"]
    return [f"class_{i}" for i in range(n_outputs)]


def predictions_to_frame(predictions: np.ndarray, id_strs: Sequence[str], label_cols: Sequence[str]) -> pd.DataFrame:
    """One row per ``id_str``, one ``<label>_pred`` column per output.

    With one sample a column holds a number; with several it holds a JSON list of the samples
    (Zoobot's format: read back with ``df[col].apply(json.loads)``).
    """
    data: dict[str, Any] = {"id_str": [str(i) for i in id_strs]}
    for k, col in enumerate(label_cols):
        values = predictions[:, k, :]
        if values.shape[1] == 1:
            data[f"{col}_pred"] = values[:, 0].astype(float)
        else:
            data[f"{col}_pred"] = [json.dumps([float(v) for v in row]) for row in values]
    return pd.DataFrame(data)


def _enable_mc_dropout(model: nn.Module) -> int:
    head = getattr(model, "head", model)
    n = 0
    for m in head.modules():
        if isinstance(m, nn.modules.dropout._DropoutNd) and m.p > 0:
            m.train()
            n += 1
    return n


def predict(
    catalog: pd.DataFrame | str | Path,
    model: FinetuneableZoobotAbstract,
    save_loc: str | Path,
    label_cols: Sequence[str] | None = None,
    inference_transform: Callable[[Tensor], Tensor] | None = None,
    n_samples: int = 1,
    batch_size: int = 32,
    num_workers: int = 0,
    datamodule_kwargs: dict[str, Any] | None = None,
    device: str | torch.device | None = None,
    trainer_kwargs: dict[str, Any] | None = None,
) -> np.ndarray:
    """Predict every catalog row and write one row per ``id_str`` to ``save_loc`` atomically.

    Args:
        catalog: Table or ``.csv``/``.parquet`` path with ``id_str`` and ``file_loc``.
        model: A Finetuneable Zoobot module (or any LightningModule with ``predict_step``).
        save_loc: Output ``.csv`` or ``.parquet`` (written to a temporary name, then renamed).
        label_cols: Output column stems (``<stem>_pred``); default :func:`default_label_cols`.
        inference_transform: Image transform ``(C, H, W) -> (C, H, W)`` applied before the model.
        n_samples: Forward passes per image. Above 1 the head's dropout stays active (MC dropout)
            and every sample is stored.
        batch_size: Images per forward pass.
        num_workers: DataLoader workers.
        datamodule_kwargs: More :class:`CatalogDataModule` arguments (``image_size``, ``bands``, ``scale``, ...).
        device: Where to run (default: the model's device).
        trainer_kwargs: Zoobot compatibility: only ``accelerator`` is used (``"gpu"``/``"cuda"`` picks
            ``cuda`` when no ``device`` is given); prediction runs without a Trainer.

    Returns:
        ``(n_images, n_outputs, n_samples)`` predictions (probabilities, values or concentrations).
    """
    if n_samples < 1:
        raise ConfigError(f"n_samples must be at least 1, got {n_samples}", key="n_samples")
    save_loc = Path(save_loc)
    if save_loc.suffix.lower() not in (".csv", ".parquet"):
        raise ConfigError(f"save_loc must end in .csv or .parquet, got {save_loc.name!r}", key="save_loc")
    accel = str((trainer_kwargs or {}).get("accelerator", "")).lower()
    if device is None and accel in ("gpu", "cuda") and torch.cuda.is_available():
        device = "cuda"
    df, root = read_catalog(catalog)
    kwargs: dict[str, Any] = {"greyscale": getattr(model, "channels", 3) == 1, **(datamodule_kwargs or {})}
    kwargs.setdefault("root", root)
    dm = CatalogDataModule(
        predict_catalog=df,
        batch_size=batch_size,
        num_workers=num_workers,
        inference_transform=inference_transform,
        **kwargs,
    )
    dm.setup("predict")
    if device is not None:
        model = model.to(device)
    dev = next(model.parameters()).device
    was_training = model.training
    model.eval()
    if n_samples > 1 and _enable_mc_dropout(model) == 0:
        log.info("n_samples=%d but the head has no active dropout: samples will be identical", n_samples)
    samples = []
    with torch.no_grad():
        for _ in range(n_samples):
            outs = []
            for i, batch in enumerate(dm.predict_dataloader()):
                batch["image"] = batch["image"].to(dev)
                out = model.predict_step(batch, i)
                outs.append(out.detach().float().cpu().reshape(out.shape[0], -1))
            samples.append(torch.cat(outs))
    model.train(was_training)
    predictions = torch.stack(samples, dim=-1).numpy()
    ids = dm.datasets["predict"].ids
    cols = list(label_cols) if label_cols is not None else default_label_cols(model, predictions.shape[1])
    if len(cols) != predictions.shape[1]:
        raise ConfigError(f"{len(cols)} label_cols for {predictions.shape[1]} model outputs: {cols}", key="label_cols")
    frame = predictions_to_frame(predictions, ids, cols)
    with atomic_path(save_loc) as tmp:
        if save_loc.suffix.lower() == ".csv":
            frame.to_csv(tmp, index=False)
        else:
            frame.to_parquet(tmp, index=False)
    log.info("wrote %d predictions to %s", len(frame), save_loc)
    return predictions
