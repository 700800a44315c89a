"""Regression losses that skip masked target values (``ignore_index`` and NaN)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from geo_core.losses._common import valid_mask

__all__ = ["MaskedRegressionLoss", "build_mse", "build_mae", "build_rmse", "build_huber"]


class MaskedRegressionLoss(nn.Module):
    """Mean of an element-wise regression loss over the valid target entries.

    Args:
        kind: ``mse``, ``mae``, ``rmse`` or ``huber``.
        ignore_index: Target value that marks entries to skip (e.g. ``-1`` for no data).
        delta: Huber threshold.
    """

    def __init__(self, kind: str = "mse", ignore_index: float | None = None, delta: float = 1.0) -> None:
        super().__init__()
        if kind not in ("mse", "mae", "rmse", "huber"):
            raise ValueError(f"unknown regression loss {kind!r}")
        self.kind = kind
        self.ignore_index = ignore_index
        self.delta = delta

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        """Loss of predictions shaped like the target (a singleton channel is squeezed)."""
        if pred.ndim == target.ndim + 1 and pred.shape[1] == 1:
            pred = pred.squeeze(1)
        mask = valid_mask(target, self.ignore_index)
        t = torch.where(mask, target, pred.detach()).to(pred.dtype)
        if self.kind == "huber":
            el = nn.functional.huber_loss(pred, t, reduction="none", delta=self.delta)
        elif self.kind == "mae":
            el = (pred - t).abs()
        else:
            el = (pred - t) ** 2
        loss = (el * mask).sum() / mask.sum().clamp_min(1)
        return loss.clamp_min(1e-12).sqrt() if self.kind == "rmse" else loss


def build_mse(ignore_index: float | None = None) -> nn.Module:
    """Mean squared error over valid entries."""
    return MaskedRegressionLoss("mse", ignore_index)


def build_mae(ignore_index: float | None = None) -> nn.Module:
    """Mean absolute error over valid entries."""
    return MaskedRegressionLoss("mae", ignore_index)


def build_rmse(ignore_index: float | None = None) -> nn.Module:
    """Root mean squared error over valid entries."""
    return MaskedRegressionLoss("rmse", ignore_index)


def build_huber(ignore_index: float | None = None, delta: float = 1.0) -> nn.Module:
    """Huber (smooth L1) loss over valid entries."""
    return MaskedRegressionLoss("huber", ignore_index, delta)
