"""Losses by name (``geo_core.LOSSES``) and the :class:`LossHandler` (torch loads on first use).

Every builder accepts ``ignore_index`` and ``class_weights`` where meaningful:
segmentation ``ce, focal, dice, jaccard, lovasz``; regression ``mse, mae, rmse, huber``
(``ignore_index`` masks target pixels holding that value; NaN targets are always masked);
classification ``ce, bce, focal``; multi-label ``bce, balanced_bce``.
"""

from __future__ import annotations

import importlib
from typing import Any

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


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'geo_core.losses' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
