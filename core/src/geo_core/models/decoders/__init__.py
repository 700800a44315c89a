"""Core decoders (pure PyTorch) under TerraTorch's names.

Each follows the decoder contract: first argument ``channel_list``, attribute
``out_channels`` and class attribute ``includes_head``. Importing this package
is cheap; each decoder loads on first attribute access.
"""

from __future__ import annotations

from geo_core._lazy import lazy_getattr

_LAZY: dict[str, str] = {
    "IdentityDecoder": "geo_core.models.decoders._simple",
    "LinearDecoder": "geo_core.models.decoders._simple",
    "MLPDecoder": "geo_core.models.decoders._simple",
    "FCNDecoder": "geo_core.models.decoders._fcn",
    "UNetDecoder": "geo_core.models.decoders._unet",
    "UperNetDecoder": "geo_core.models.decoders._upernet",
    "ASPPSegmentationHead": "geo_core.models.decoders._aspp",
    "ASPPRegressionHead": "geo_core.models.decoders._aspp",
}

__all__ = sorted(_LAZY)


__getattr__ = lazy_getattr(__name__, _LAZY)
