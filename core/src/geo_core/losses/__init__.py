"""Losses by name (``geo_core.LOSSES``) and the :class:`LossHandler` (torch loads on first use).

Every builder accepts ``ignore_index`` and ``class_weights`` where meaningful:
segmentation ``ce, focal, dice, jaccard, lovasz``; regression ``mse, mae, rmse, huber``
(``ignore_index`` masks target pixels holding that value; NaN targets are always masked);
classification ``ce, bce, focal``; multi-label ``bce, balanced_bce``.
"""

from __future__ import annotations

from geo_core._lazy import lazy_getattr

_LAZY: dict[str, str] = {
    "LossHandler": "geo_core.losses._handler",
    "WeightedSumLoss": "geo_core.losses._handler",
    "build_loss": "geo_core.losses._handler",
}

__all__ = [
    "LossHandler",
    "WeightedSumLoss",
    "build_loss",
]


__getattr__ = lazy_getattr(__name__, _LAZY)
