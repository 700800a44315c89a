"""smp's segmentation losses (``smp:dice``, ``smp:jaccard``, ``smp:focal``, ``smp:lovasz``, ``smp:tversky``).

Each builder returns an ``nn.Module`` called as ``loss(logits, target)`` with logits
``(B, C, H, W)`` and a long target ``(B, H, W)`` (multiclass) or a float target
shaped like the logits (binary/multilabel).
"""

from __future__ import annotations

from typing import Any, Literal

from torch import nn

from geo_plugin_smp import _smp_compat as compat

__all__ = ["build_dice", "build_jaccard", "build_focal", "build_lovasz", "build_tversky"]

Mode = Literal["binary", "multiclass", "multilabel"]


def build_dice(mode: Mode = "multiclass", ignore_index: int | None = None, **kwargs: Any) -> nn.Module:
    """Build smp's ``DiceLoss`` from logits; ``kwargs``: ``classes``, ``log_loss``, ``smooth``, ``eps``."""
    return compat.segmentation_loss("dice", mode=mode, ignore_index=ignore_index, **kwargs)


def build_jaccard(mode: Mode = "multiclass", ignore_index: int | None = None, **kwargs: Any) -> nn.Module:
    """Build smp's ``JaccardLoss`` (soft IoU); ``kwargs``: ``classes``, ``log_loss``, ``smooth``, ``eps``."""
    if ignore_index is not None:
        kwargs["ignore_index"] = ignore_index
    return compat.segmentation_loss("jaccard", mode=mode, **kwargs)


def build_focal(
    mode: Mode = "multiclass",
    ignore_index: int | None = None,
    alpha: float | None = None,
    gamma: float = 2.0,
    **kwargs: Any,
) -> nn.Module:
    """Build smp's ``FocalLoss``; ``kwargs``: ``reduction``, ``normalized``, ``reduced_threshold``."""
    return compat.segmentation_loss("focal", mode=mode, ignore_index=ignore_index, alpha=alpha, gamma=gamma, **kwargs)


def build_lovasz(mode: Mode = "multiclass", ignore_index: int | None = None, **kwargs: Any) -> nn.Module:
    """Build smp's ``LovaszLoss``; ``kwargs``: ``per_image``."""
    return compat.segmentation_loss("lovasz", mode=mode, ignore_index=ignore_index, **kwargs)


def build_tversky(
    mode: Mode = "multiclass",
    ignore_index: int | None = None,
    alpha: float = 0.5,
    beta: float = 0.5,
    gamma: float = 1.0,
    **kwargs: Any,
) -> nn.Module:
    """Build smp's ``TverskyLoss`` (``alpha`` weighs false positives, ``beta`` false negatives)."""
    return compat.segmentation_loss(
        "tversky", mode=mode, ignore_index=ignore_index, alpha=alpha, beta=beta, gamma=gamma, **kwargs
    )
