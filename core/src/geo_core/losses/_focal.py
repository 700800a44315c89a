"""Focal loss (Lin et al. 2017), softmax for class indices, sigmoid for multi-label targets."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from geo_core.losses._common import as_weight, valid_mask

__all__ = ["FocalLoss", "build_focal"]


class FocalLoss(nn.Module):
    """``-(1 - p_t)^gamma * log(p_t)``, weighted by ``class_weights`` (alpha) per class.

    Class-index targets ``(B, ...)`` use a softmax over ``(B, C, ...)`` logits; float
    targets shaped like the logits (multi-label) use a sigmoid.
    """

    def __init__(
        self, gamma: float = 2.0, ignore_index: int | None = None, class_weights: Sequence[float] | None = None
    ) -> None:
        super().__init__()
        self.gamma = gamma
        self.ignore_index = ignore_index
        self.alpha: Tensor | None
        self.register_buffer("alpha", as_weight(class_weights), persistent=False)

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        """Mean focal loss over valid entries."""
        mask = valid_mask(target, self.ignore_index)
        if target.is_floating_point() and target.shape == logits.shape:
            t = torch.where(mask, target, torch.zeros_like(target))
            p = torch.sigmoid(logits)
            ce = nn.functional.binary_cross_entropy_with_logits(logits, t, reduction="none")
            pt = p * t + (1 - p) * (1 - t)
            loss = (1 - pt) ** self.gamma * ce
            if self.alpha is not None:
                a = self.alpha.view(1, -1, *([1] * (logits.ndim - 2)))
                loss = loss * (a * t + (1 - t))
            return (loss * mask).sum() / mask.sum().clamp_min(1)
        safe = torch.where(mask, target, torch.zeros_like(target)).long()
        logp = nn.functional.log_softmax(logits, dim=1)
        logpt = logp.gather(1, safe.unsqueeze(1)).squeeze(1)
        loss = -((1 - logpt.exp()) ** self.gamma) * logpt
        if self.alpha is not None:
            loss = loss * self.alpha[safe]
        return (loss * mask).sum() / mask.sum().clamp_min(1)


def build_focal(
    gamma: float = 2.0, ignore_index: int | None = None, class_weights: Sequence[float] | None = None
) -> nn.Module:
    """Focal loss for segmentation, classification and multi-label targets."""
    return FocalLoss(gamma, ignore_index, class_weights)
