"""Helpers shared by the loss modules."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

__all__ = ["as_weight", "valid_mask", "one_hot_valid"]


def as_weight(class_weights: Sequence[float] | Tensor | None) -> Tensor | None:
    """Class weights as a float tensor (None stays None)."""
    if class_weights is None:
        return None
    return torch.as_tensor(
        list(class_weights) if not isinstance(class_weights, Tensor) else class_weights, dtype=torch.float32
    )


def valid_mask(target: Tensor, ignore_index: float | None) -> Tensor:
    """Boolean mask of target entries that count (not ``ignore_index``, not NaN)."""
    mask = torch.ones_like(target, dtype=torch.bool)
    if target.is_floating_point():
        mask &= ~torch.isnan(target)
    if ignore_index is not None:
        mask &= target != ignore_index
    return mask


def one_hot_valid(target: Tensor, num_classes: int, ignore_index: int | None) -> tuple[Tensor, Tensor]:
    """One-hot ``(B, C, ...)`` of a class map and the ``(B, 1, ...)`` validity mask."""
    valid = valid_mask(target, ignore_index)
    safe = torch.where(valid, target, torch.zeros_like(target)).long()
    oh = torch.nn.functional.one_hot(safe, num_classes).movedim(-1, 1).to(torch.float32)
    return oh, valid.unsqueeze(1)
