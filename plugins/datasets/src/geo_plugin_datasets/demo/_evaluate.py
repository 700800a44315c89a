"""Scores on held-out pixels, the two baselines, and PNG quicklooks.

Cloud IoU is the figure that matters: with ~6 % cloud, predicting "clear"
everywhere already reaches ~94 % overall accuracy. Every score is computed on
the same pixels: the validation region, without ignored (medium-confidence) ones.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from geo_plugin_datasets.demo._landsat import CLOUD, IGNORE

__all__ = ["brightness", "scores", "tune_threshold", "quicklook"]


def brightness(refl: np.ndarray) -> np.ndarray:
    """Mean visible (blue, green, red) reflectance: the classic cloud brightness test."""
    return refl[:3].mean(axis=0)  # type: ignore[no-any-return]


def scores(pred_cloud: np.ndarray, labels: np.ndarray, region: np.ndarray) -> dict[str, Any]:
    """Cloud IoU, overall accuracy, precision and recall on ``region`` pixels with a label."""
    use = region & (labels != IGNORE)
    truth = labels[use] == CLOUD
    pred = pred_cloud[use].astype(bool)
    tp = int((pred & truth).sum())
    fp = int((pred & ~truth).sum())
    fn = int((~pred & truth).sum())
    tn = int((~pred & ~truth).sum())
    n = tp + fp + fn + tn
    return {
        "cloud_iou": tp / (tp + fp + fn) if tp + fp + fn else 0.0,
        "overall_accuracy": (tp + tn) / n if n else 0.0,
        "cloud_precision": tp / (tp + fp) if tp + fp else 0.0,
        "cloud_recall": tp / (tp + fn) if tp + fn else 0.0,
        "pixels": n,
        "cloud_pixels": tp + fn,
    }


def tune_threshold(value: np.ndarray, labels: np.ndarray, region: np.ndarray, steps: int = 400) -> float:
    """Threshold ``t`` (cloud where ``value >= t``) maximising cloud IoU over the labelled pixels of ``region``."""
    use = region & (labels != IGNORE)
    v, truth = value[use], labels[use] == CLOUD
    best, best_iou = float(v.max()), -1.0
    for t in np.unique(np.quantile(v, np.linspace(0.0, 1.0, steps))):
        pred = v >= t
        tp = int((pred & truth).sum())
        denom = int((pred | truth).sum())
        iou = tp / denom if denom else 0.0
        if iou > best_iou:
            best, best_iou = float(t), iou
    return best


def _stretch(rgb: np.ndarray) -> np.ndarray:
    lo, hi = np.percentile(rgb, [2, 98])
    out = np.clip((rgb - lo) / max(hi - lo, 1e-6), 0, 1)
    return (out.transpose(1, 2, 0) * 255).astype(np.uint8)  # type: ignore[no-any-return]


def _overlay(rgb8: np.ndarray, cloud: np.ndarray, colour: tuple[int, int, int]) -> np.ndarray:
    grey = rgb8.mean(axis=2, keepdims=True).repeat(3, axis=2) * 0.6
    out = grey.astype(np.uint8)
    out[cloud] = colour
    return out  # type: ignore[no-any-return]


def quicklook(
    path: Path,
    refl: np.ndarray,
    pred_cloud: np.ndarray,
    labels: np.ndarray | None = None,
    split_rows: tuple[int, int] | None = None,
) -> Path:
    """Write a PNG: true-colour RGB | prediction (cloud in red) [| reference labels]."""
    from PIL import Image

    rgb8 = _stretch(refl[[2, 1, 0]])
    panels = [rgb8, _overlay(rgb8, pred_cloud.astype(bool), (255, 40, 40))]
    if labels is not None:
        ref = _overlay(rgb8, labels == CLOUD, (255, 255, 255))
        ref[labels == IGNORE] = (160, 160, 0)
        panels.append(ref)
    if split_rows is not None:  # mark where the validation region begins
        for p in panels[1:]:
            p[split_rows[0] : split_rows[0] + 2, :] = (0, 200, 255)
    gap = np.full((rgb8.shape[0], 6, 3), 255, np.uint8)
    row = np.concatenate([x for p in panels for x in (p, gap)][:-1], axis=1)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(row).save(path)
    return path
