"""Cross-entropy and binary cross-entropy losses."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from geo_core.losses._common import as_weight, valid_mask

__all__ = ["BCELoss", "BalancedBCELoss", "build_ce", "build_bce", "build_balanced_bce"]


def build_ce(
    ignore_index: int | None = None, class_weights: Sequence[float] | None = None, label_smoothing: float = 0.0
) -> nn.Module:
    """Cross-entropy over class logits ``(B, C, ...)`` and class indices ``(B, ...)``."""
    return nn.CrossEntropyLoss(
        weight=as_weight(class_weights),
        ignore_index=-100 if ignore_index is None else int(ignore_index),
        label_smoothing=label_smoothing,
    )


class BCELoss(nn.Module):
    """Binary cross-entropy with logits; targets cast to float, ``ignore_index`` entries masked.

    ``class_weights`` become ``pos_weight`` (one per label).
    """

    def __init__(self, ignore_index: float | None = None, class_weights: Sequence[float] | None = None) -> None:
        super().__init__()
        self.ignore_index = ignore_index
        self.pos_weight: Tensor | None
        self.register_buffer("pos_weight", as_weight(class_weights), persistent=False)

    def _align(self, logits: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
        if logits.ndim == target.ndim + 1 and logits.shape[1] == 1:
            logits = logits.squeeze(1)
        return logits, target.to(logits.dtype)

    def _pos_weight(self, logits: Tensor, target: Tensor) -> Tensor | None:
        return self.pos_weight

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        """Mean BCE over the valid entries."""
        mask = valid_mask(target, self.ignore_index)
        logits, t = self._align(logits, target)
        t = torch.where(mask, t, torch.zeros_like(t))
        pw = self._pos_weight(logits, t)
        if pw is not None and logits.ndim > 1:
            pw = pw.view(1, -1, *([1] * (logits.ndim - 2)))
        loss = nn.functional.binary_cross_entropy_with_logits(logits, t, pos_weight=pw, reduction="none")
        return (loss * mask).sum() / mask.sum().clamp_min(1)


class BalancedBCELoss(BCELoss):
    """BCE whose positives are weighted by the batch's negative/positive ratio per label."""

    def _pos_weight(self, logits: Tensor, target: Tensor) -> Tensor | None:
        dims = [d for d in range(target.ndim) if d != 1] if target.ndim > 1 else [0]
        pos = target.sum(dim=dims)
        neg = (1 - target).sum(dim=dims)
        return (neg / pos.clamp_min(1.0)).clamp(min=1e-3, max=1e3).detach()


def build_bce(ignore_index: float | None = None, class_weights: Sequence[float] | None = None) -> nn.Module:
    """Binary cross-entropy with logits (multi-label or single-logit binary)."""
    return BCELoss(ignore_index, class_weights)


def build_balanced_bce(ignore_index: float | None = None, class_weights: Sequence[float] | None = None) -> nn.Module:
    """BCE with per-batch positive weighting, for rare labels."""
    return BalancedBCELoss(ignore_index, class_weights)
