"""Predict image-level tasks (classification, multi-label, scalar regression) on GeoTIFF chips into a table.

One row per input file: ``filename``, then the prediction columns of the task kind. Files are
read whole, preprocessed like the training data (:class:`~geo_core.data.ScenePreprocessing`),
batched when consecutive files share a shape, and the table is written to a temporary name
and renamed, so a failed run never leaves a partial table under the final name.

=========================  ===============================================================
task kind                  columns
=========================  ===============================================================
classification             ``prediction`` (index), ``class`` (name), ``confidence`` (top
                           softmax probability); ``prob_<class>`` with ``probabilities``,
                           ``logit_<class>`` with ``logits``
multilabel_classification  ``labels`` (names at probability >= 0.5, ``;``-joined);
                           ``prob_<label>`` or ``logit_<label>`` likewise
scalar_regression          ``prediction`` (or ``prediction_<i>`` for several outputs)
=========================  ===============================================================
"""

from __future__ import annotations

import csv
import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch

from geo_core._atomic import atomic_open
from geo_core._errors import ConfigError, InputDataError
from geo_core.data import ScenePreprocessing
from geo_core.inference._options import PredictOptions
from geo_core.inference._runner import WindowRunner
from geo_core.inference._stream import _preprocess, _progress_bar, bands_to_read, expand_all

__all__ = ["IMAGE_KINDS", "predict_images"]

log = logging.getLogger("geo_core.inference")

IMAGE_KINDS = ("classification", "multilabel_classification", "scalar_regression")


def _read(path: Path, pre: ScenePreprocessing) -> np.ndarray:
    import rasterio

    try:
        with rasterio.open(path) as src:
            raw = src.read(bands_to_read(src, pre, path), out_dtype="float32")
            nodata = src.nodata
    except InputDataError:
        raise
    except Exception as exc:
        raise InputDataError(f"cannot read raster ({type(exc).__name__}: {exc})", path=path) from exc
    x = _preprocess(raw, pre, nodata)
    if not np.isfinite(x).all():
        raise InputDataError(
            "holds NaN/Inf pixel values; set the datamodule's no_data_replace or declare the file's nodata value",
            path=path,
        )
    return x


def _names(task: Any, k: int) -> list[str]:
    names = task.hparams.get("class_names") if hasattr(task, "hparams") else None
    if names and len(names) == k:
        return [str(n) for n in names]
    return [str(i) for i in range(k)]


def _rows(kind: str, output_kind: str, logits: torch.Tensor, names: list[str]) -> tuple[list[str], list[list[Any]]]:
    """Column names and one row of values per sample (without the filename)."""
    if kind == "scalar_regression":
        v = logits.reshape(logits.shape[0], -1)
        cols = ["prediction"] if v.shape[1] == 1 else [f"prediction_{i}" for i in range(v.shape[1])]
        return cols, [[float(a) for a in row] for row in v]
    extra_name, extra = {"probabilities": ("prob", None), "logits": ("logit", logits)}.get(output_kind, ("", None))
    if kind == "classification":
        probs = logits.softmax(1)
        conf, idx = probs.max(1)
        cols = ["prediction", "class", "confidence"]
        rows = [[int(i), names[int(i)], float(c)] for i, c in zip(idx, conf, strict=True)]
    else:
        probs = logits.sigmoid()
        cols = ["labels"]
        rows = [[";".join(n for n, p in zip(names, row, strict=True) if p >= 0.5)] for row in probs]
    if extra_name:
        values = probs if extra is None else extra
        cols += [f"{extra_name}_{n}" for n in names]
        rows = [r + [float(v) for v in vals] for r, vals in zip(rows, values, strict=True)]
    return cols, rows


@torch.inference_mode()
def predict_images(
    task: Any,
    inputs: str | Path | list[str | Path],
    output: str | Path,
    preprocessing: ScenePreprocessing | None = None,
    options: PredictOptions | None = None,
    progress: bool = False,
) -> Path:
    """Predict every GeoTIFF of ``inputs`` (file, folder, glob or a list) into the CSV table ``output``.

    Args:
        task: A classification, multi-label classification or scalar regression task, weights loaded.
        inputs: Files to predict, one row each.
        output: ``.csv`` file (a folder gets ``predictions.csv`` inside).
        preprocessing: Band selection and normalisation (identity when None).
        options: ``batch_size``, ``output_kind`` and ``channels_last`` are used.
        progress: Show a progress bar on stderr.

    Returns:
        The table's path.

    Raises:
        InputDataError: A file cannot be read, has the wrong bands or NaN values (names the file).
    """
    kind = getattr(task, "task_kind", "")
    if kind not in IMAGE_KINDS:
        raise ConfigError(f"{type(task).__name__} is not an image-level task ({', '.join(IMAGE_KINDS)})", key="model")
    pre = preprocessing or ScenePreprocessing()
    opt = options or PredictOptions()
    out = Path(output)
    if out.is_dir() or not out.suffix:
        out = out / "predictions.csv"
    if out.suffix.lower() != ".csv":
        raise ConfigError(
            f"image-level predictions are written as a CSV table; got --output {out} (use a .csv file or a folder)",
            key="output",
        )
    files = expand_all(inputs)
    task.eval()
    batch_size = opt.batch_size or 16
    header: list[str] | None = None
    table: list[list[Any]] = []
    pending: list[tuple[Path, np.ndarray]] = []

    def flush(run: WindowRunner) -> None:
        nonlocal header
        if not pending:
            return
        x = torch.from_numpy(np.stack([a for _, a in pending])).to(next(iter(task.parameters())).device)
        try:
            logits = run(x).float().cpu()
        except (RuntimeError, InputDataError) as exc:  # a band count or size the model was not built for
            if isinstance(exc, InputDataError) and exc.path is not None:
                raise
            names = ", ".join(p.name for p, _ in pending)
            raise InputDataError(
                f"the model cannot take these {x.shape[1]}-band {tuple(x.shape[2:])} images "
                f"({names}): {str(exc).splitlines()[0]}",
                path=pending[0][0],
            ) from exc
        if logits.ndim == 1:
            logits = logits[:, None]
        cols, rows = _rows(kind, opt.output_kind, logits, _names(task, logits.shape[1]))
        header = header or ["filename", *cols]
        table.extend([str(p), *r] for (p, _), r in zip(pending, rows, strict=True))
        pending.clear()

    with WindowRunner(task, "logits", opt.channels_last) as run, _progress_bar(progress) as bar:
        job = bar.add_task(f"{len(files)} image(s)", total=len(files)) if bar is not None else None
        for f in files:
            x = _read(f, pre)
            if pending and (pending[0][1].shape != x.shape or len(pending) >= batch_size):
                flush(run)
            pending.append((f, x))
            if bar is not None:
                bar.advance(job)
        flush(run)
    assert header is not None
    with atomic_open(out, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(table)
    log.info("wrote %d prediction(s) to %s", len(table), out)
    return out
