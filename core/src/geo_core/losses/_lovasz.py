"""Lovász-Softmax loss (Berman et al. 2018), a surrogate of the mean IoU."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from geo_core.losses._common import as_weight, valid_mask

__all__ = ["LovaszSoftmaxLoss", "build_lovasz"]


def _lovasz_grad(gt_sorted: Tensor) -> Tensor:
    gts = gt_sorted.sum()
    inter = gts - gt_sorted.cumsum(0)
    union = gts + (1 - gt_sorted).cumsum(0)
    jac = 1.0 - inter / union
    if gt_sorted.numel() > 1:
        jac[1:] = jac[1:] - jac[:-1]
    return jac


class LovaszSoftmaxLoss(nn.Module):
    """Lovász-Softmax over the pixels of the whole batch, classes present only."""

    def __init__(self, ignore_index: int | None = None, class_weights: Sequence[float] | None = None) -> None:
        super().__init__()
        self.ignore_index = ignore_index
        self.weight: Tensor | None
        self.register_buffer("weight", as_weight(class_weights), persistent=False)

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        """Loss of ``(B, C, ...)`` logits against ``(B, ...)`` class indices."""
        c = logits.shape[1]
        probs = logits.softmax(1).movedim(1, -1).reshape(-1, c)
        t = target.reshape(-1)
        keep = valid_mask(t, self.ignore_index)
        probs, t = probs[keep], t[keep].long()
        if t.numel() == 0:
            return logits.sum() * 0.0
        losses, weights = [], []
        for k in range(c):
            fg = (t == k).to(probs.dtype)
            if fg.sum() == 0:
                continue
            errors = (fg - probs[:, k]).abs()
            errors_sorted, perm = torch.sort(errors, descending=True)
            losses.append(torch.dot(errors_sorted, _lovasz_grad(fg[perm])))
            weights.append(self.weight[k] if self.weight is not None else torch.ones((), device=probs.device))
        w = torch.stack(weights).to(probs)
        return (torch.stack(losses) * w).sum() / w.sum()


def build_lovasz(ignore_index: int | None = None, class_weights: Sequence[float] | None = None) -> nn.Module:
    """Lovász-Softmax loss."""
    return LovaszSoftmaxLoss(ignore_index, class_weights)
