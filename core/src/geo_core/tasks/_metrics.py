"""torchmetrics collections per task kind (prefixes are added by the task)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor
from torchmetrics import Metric, MetricCollection

__all__ = [
    "segmentation_metrics",
    "regression_metrics",
    "classification_metrics",
    "multilabel_metrics",
    "MaskedRegressionMetrics",
]


def segmentation_metrics(
    num_classes: int, ignore_index: int | None, class_names: Sequence[str] | None = None
) -> MetricCollection:
    """MIoU (macro and micro), F1, accuracy and per-class IoU named by ``class_names``."""
    from torchmetrics.classification import MulticlassAccuracy, MulticlassF1Score, MulticlassJaccardIndex
    from torchmetrics.wrappers import ClasswiseWrapper

    kw: dict[str, Any] = {"num_classes": num_classes, "ignore_index": ignore_index, "validate_args": False}
    names = list(class_names) if class_names else [str(i) for i in range(num_classes)]
    if len(names) != num_classes:
        from geo_core._errors import ConfigError

        raise ConfigError(f"class_names has {len(names)} names for {num_classes} classes", key="class_names")
    return MetricCollection(
        {
            "mIoU": MulticlassJaccardIndex(average="macro", **kw),
            "mIoU_micro": MulticlassJaccardIndex(average="micro", **kw),
            "F1": MulticlassF1Score(average="macro", **kw),
            "accuracy": MulticlassAccuracy(average="micro", **kw),
            "IoU": ClasswiseWrapper(
                MulticlassJaccardIndex(average="none", **kw), labels=names, prefix="IoU_", postfix=None
            ),
        }
    )


class MaskedRegressionMetrics(Metric):
    """RMSE, MAE and R² over the valid target entries (not ``ignore_index``, not NaN).

    Accumulates sums only, so ``update`` is cheap and DDP-syncable.
    """

    full_state_update = False
    n: Tensor
    se: Tensor
    ae: Tensor
    sy: Tensor
    syy: Tensor

    def __init__(self, ignore_index: float | None = None) -> None:
        super().__init__()
        self.ignore_index = ignore_index
        for n in ("n", "se", "ae", "sy", "syy"):
            self.add_state(n, default=torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")

    def update(self, pred: Tensor, target: Tensor) -> None:
        """Accumulate one batch."""
        if pred.ndim == target.ndim + 1 and pred.shape[1] == 1:
            pred = pred.squeeze(1)
        mask = ~torch.isnan(target) if target.is_floating_point() else torch.ones_like(target, dtype=torch.bool)
        if self.ignore_index is not None:
            mask &= target != self.ignore_index
        p = pred[mask].double()
        t = target[mask].double()
        d = p - t
        self.n += mask.sum()
        self.se += (d * d).sum()
        self.ae += d.abs().sum()
        self.sy += t.sum()
        self.syy += (t * t).sum()

    def compute(self) -> dict[str, Tensor]:
        """``{"RMSE", "MAE", "R2"}``."""
        n = self.n.clamp_min(1)
        ss_tot = self.syy - self.sy * self.sy / n
        return {
            "RMSE": (self.se / n).sqrt().float(),
            "MAE": (self.ae / n).float(),
            "R2": (1 - self.se / ss_tot.clamp_min(1e-12)).float(),
        }


def regression_metrics(ignore_index: float | None) -> MetricCollection:
    """RMSE, MAE and R² ignoring masked pixels."""
    return MetricCollection({"reg": MaskedRegressionMetrics(ignore_index)})


def classification_metrics(num_classes: int, class_names: Sequence[str] | None = None) -> MetricCollection:
    """Accuracy (micro), F1, precision and recall (macro)."""
    from torchmetrics.classification import (
        MulticlassAccuracy,
        MulticlassF1Score,
        MulticlassPrecision,
        MulticlassRecall,
    )

    kw: dict[str, Any] = {"num_classes": num_classes, "validate_args": False}
    return MetricCollection(
        {
            "accuracy": MulticlassAccuracy(average="micro", **kw),
            "F1": MulticlassF1Score(average="macro", **kw),
            "precision": MulticlassPrecision(average="macro", **kw),
            "recall": MulticlassRecall(average="macro", **kw),
        }
    )


def multilabel_metrics(num_labels: int) -> MetricCollection:
    """AUROC, average precision and F1 (macro)."""
    from torchmetrics.classification import MultilabelAUROC, MultilabelAveragePrecision, MultilabelF1Score

    kw: dict[str, Any] = {"num_labels": num_labels, "validate_args": False}
    return MetricCollection(
        {
            "AUROC": MultilabelAUROC(**kw),
            "AP": MultilabelAveragePrecision(**kw),
            "F1": MultilabelF1Score(**kw),
        }
    )
