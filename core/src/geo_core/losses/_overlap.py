"""Soft Dice and Jaccard losses over softmax probabilities."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from geo_core.losses._common import as_weight, one_hot_valid

__all__ = ["OverlapLoss", "build_dice", "build_jaccard"]


class OverlapLoss(nn.Module):
    """``1 - score`` per class, averaged (weighted by ``class_weights``) over classes present.

    Args:
        mode: ``dice`` (F1) or ``jaccard`` (IoU).
        ignore_index: Target value excluded from both prediction and target.
        class_weights: Per-class weights of the mean.
        smooth: Additive smoothing of numerator and denominator.
    """

    def __init__(
        self,
        mode: str = "dice",
        ignore_index: int | None = None,
        class_weights: Sequence[float] | None = None,
        smooth: float = 1.0,
    ) -> None:
        super().__init__()
        if mode not in ("dice", "jaccard"):
            raise ValueError(f"mode must be 'dice' or 'jaccard', got {mode!r}")
        self.mode = mode
        self.ignore_index = ignore_index
        self.smooth = smooth
        self.weight: Tensor | None
        self.register_buffer("weight", as_weight(class_weights), persistent=False)

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        """Loss of ``(B, C, ...)`` logits against ``(B, ...)`` class indices."""
        probs = logits.softmax(dim=1)
        oh, valid = one_hot_valid(target, logits.shape[1], self.ignore_index)
        probs = probs * valid
        oh = oh * valid
        dims = [0, *range(2, logits.ndim)]
        inter = (probs * oh).sum(dims)
        total = probs.sum(dims) + oh.sum(dims)
        if self.mode == "dice":
            score = (2 * inter + self.smooth) / (total + self.smooth)
        else:
            score = (inter + self.smooth) / (total - inter + self.smooth)
        loss = 1 - score
        w = self.weight if self.weight is not None else torch.ones_like(loss)
        return (loss * w).sum() / w.sum()


def build_dice(
    ignore_index: int | None = None, class_weights: Sequence[float] | None = None, smooth: float = 1.0
) -> nn.Module:
    """Soft Dice loss."""
    return OverlapLoss("dice", ignore_index, class_weights, smooth)


def build_jaccard(
    ignore_index: int | None = None, class_weights: Sequence[float] | None = None, smooth: float = 1.0
) -> nn.Module:
    """Soft Jaccard (IoU) loss."""
    return OverlapLoss("jaccard", ignore_index, class_weights, smooth)
