"""Necks: transform a backbone's feature list before the decoder (see :class:`geo_core.Neck`).

Importing this package is cheap; each neck loads on first attribute access.
"""

from __future__ import annotations

from geo_core._lazy import lazy_getattr

_LAZY: dict[str, str] = {
    "SelectIndices": "geo_core.models.necks._select",
    "PermuteDims": "geo_core.models.necks._select",
    "ReshapeTokensToImage": "geo_core.models.necks._tokens",
    "AggregateTokens": "geo_core.models.necks._tokens",
    "InterpolateToPyramidal": "geo_core.models.necks._pyramid",
    "LearnedInterpolateToPyramidal": "geo_core.models.necks._pyramid",
    "MaxpoolToPyramidal": "geo_core.models.necks._pyramid",
    "FeaturePyramidNetworkNeck": "geo_core.models.necks._fpn",
    "AddBottleneckLayer": "geo_core.models.necks._fpn",
    "build_necks": "geo_core.models.necks._chain",
    "NeckChain": "geo_core.models.necks._chain",
}

__all__ = sorted(_LAZY)


__getattr__ = lazy_getattr(__name__, _LAZY)
