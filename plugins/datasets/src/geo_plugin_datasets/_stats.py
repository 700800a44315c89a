"""Per-band statistics of a dataset (``geo stats``) and the stats file the datamodules read.

Statistics are exact and streamed file by file (Chan's parallel mean/variance
update), so memory stays bounded by one file. NaN and the file's nodata value
are excluded per band. Values are computed after ``constant_scale``, i.e. in
the units the datamodule normalises, so ``means``/``stds`` can be used as they are.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from geo_plugin_datasets._io import read_raster

__all__ = ["RunningStats", "compute_stats", "write_stats"]


class RunningStats:
    """Streaming per-channel count, mean, variance, min and max."""

    def __init__(self, channels: int) -> None:
        self.n = np.zeros(channels, dtype=np.float64)
        self.mean = np.zeros(channels, dtype=np.float64)
        self.m2 = np.zeros(channels, dtype=np.float64)
        self.min = np.full(channels, np.inf)
        self.max = np.full(channels, -np.inf)

    def update(self, values: np.ndarray, valid: np.ndarray | None = None) -> None:
        """Add ``(C, N)`` values; ``valid`` is an optional boolean ``(C, N)`` mask."""
        for c in range(values.shape[0]):
            v = values[c] if valid is None else values[c][valid[c]]
            if v.size == 0:
                continue
            v = v.astype(np.float64, copy=False)
            nb, mb = float(v.size), float(v.mean())
            m2b = float(((v - mb) ** 2).sum())
            na = self.n[c]
            n = na + nb
            delta = mb - self.mean[c]
            self.mean[c] += delta * nb / n
            self.m2[c] += m2b + delta * delta * na * nb / n
            self.n[c] = n
            self.min[c] = min(self.min[c], float(v.min()))
            self.max[c] = max(self.max[c], float(v.max()))

    @property
    def std(self) -> np.ndarray:
        """Population standard deviation per channel."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.sqrt(self.m2 / np.maximum(self.n, 1))


def compute_stats(
    pairs: Sequence[tuple[Path, Path | None]],
    *,
    bands: list[int] | None = None,
    band_names: Sequence[Any] | None = None,
    time_steps: int | None = None,
    constant_scale: float = 1.0,
    label_kind: Literal["classes", "regression", "none"] = "classes",
    label_values: Sequence[Any] | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Compute band statistics over image files and label statistics over labels.

    Args:
        pairs: ``(image, label_or_None)`` paths.
        bands: 0-based file bands to read (None = all).
        band_names: Names to record for the read bands (indices when None).
        time_steps: Fold ``T`` time-major groups of bands into one statistic per band.
        constant_scale: Multiply values by this first.
        label_kind: Count classes of label rasters, or mean/std of regression targets.
        label_values: Image-level labels (class index or value per pair) instead of rasters.
        progress: Show a progress bar on stderr.

    Returns:
        A dict with ``bands``, ``means``, ``stds``, ``mins``, ``maxs`` and label statistics.
    """
    from rich.console import Console
    from rich.progress import track

    stats: RunningStats | None = None
    label_stats = RunningStats(1)
    counts: dict[int, int] = {}
    seq = track(pairs, description="geo stats", console=Console(stderr=True), disable=not progress, transient=True)
    for image, label in seq:
        data, nodata = read_raster(image, bands)
        x = data.reshape(data.shape[0], -1).astype(np.float64)
        valid = ~np.isnan(x)
        if nodata is not None and not np.isnan(nodata):
            valid &= data.reshape(data.shape[0], -1) != nodata
        if time_steps:
            c = x.shape[0] // time_steps
            x = x.reshape(time_steps, c, -1).transpose(1, 0, 2).reshape(c, -1)
            valid = valid.reshape(time_steps, c, -1).transpose(1, 0, 2).reshape(c, -1)
        x *= constant_scale
        if stats is None:
            stats = RunningStats(x.shape[0])
        stats.update(x, valid)
        if label is not None and label_kind != "none":
            ldata, lnod = read_raster(label, [0])
            lab = ldata[0].ravel()
            ok = ~np.isnan(lab) if np.issubdtype(lab.dtype, np.floating) else np.ones(lab.shape, bool)
            if lnod is not None and not np.isnan(lnod):
                ok &= lab != lnod
            if label_kind == "classes":
                ints = lab[ok].astype(np.int64)
                ints = ints[ints >= 0]
                for k, v in enumerate(np.bincount(ints)):
                    if v:
                        counts[k] = counts.get(k, 0) + int(v)
            else:
                label_stats.update(lab[ok][None].astype(np.float64))
    if stats is None:
        raise ValueError("no files to compute statistics on")
    n = stats.mean.shape[0]
    out: dict[str, Any] = {
        "bands": [b if isinstance(b, int | str) else str(b) for b in band_names] if band_names else list(range(n)),
        "means": [float(v) for v in stats.mean],
        "stds": [float(v) for v in stats.std],
        "mins": [float(v) for v in stats.min],
        "maxs": [float(v) for v in stats.max],
        "pixel_counts": [int(v) for v in stats.n],
        "file_count": len(pairs),
        "constant_scale": constant_scale,
    }
    if label_values is not None:
        if label_kind == "classes":
            for v in label_values:
                if v is not None:
                    counts[int(v)] = counts.get(int(v), 0) + 1
        else:
            vals = np.asarray([v for v in label_values if v is not None], dtype=np.float64)
            if vals.size:
                label_stats.update(vals.reshape(1, -1) if vals.ndim == 1 else vals.T[:1])
    if counts:
        total = sum(counts.values())
        out["class_counts"] = {int(k): counts[k] for k in sorted(counts)}
        out["class_frequencies"] = {int(k): counts[k] / total for k in sorted(counts)}
    if label_stats.n[0] > 0:
        out["label_mean"] = float(label_stats.mean[0])
        out["label_std"] = float(label_stats.std[0])
        out["label_min"] = float(label_stats.min[0])
        out["label_max"] = float(label_stats.max[0])
    return out


def write_stats(stats: dict[str, Any], path: str | Path) -> Path:
    """Write ``stats`` as YAML (``.yaml``/``.yml``) or JSON (``.json``), atomically."""
    path = Path(path)
    if path.suffix.lower() == ".json":
        text = json.dumps(stats, indent=2) + "\n"
    else:
        import yaml

        text = yaml.safe_dump(stats, sort_keys=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
