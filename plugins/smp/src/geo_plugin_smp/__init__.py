"""geo-plugin-smp: segmentation_models.pytorch encoders, decoders, models and losses for geo.

Importing this package does not import torch or smp; the classes load on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from geo_plugin_smp._backbones import SMPBackbone, build_backbone
    from geo_plugin_smp._decoders import (
        DeepLabV3Decoder,
        DeepLabV3PlusDecoder,
        DPTDecoder,
        FPNDecoder,
        LinknetDecoder,
        MAnetDecoder,
        PANDecoder,
        PSPNetDecoder,
        SegformerDecoder,
        SMPDecoder,
        UnetDecoder,
        UnetPlusPlusDecoder,
        UPerNetDecoder,
    )
    from geo_plugin_smp._factory import SMPModel, SMPModelFactory

__version__ = "0.1.0"

_LAZY: dict[str, str] = {
    "SMPBackbone": "geo_plugin_smp._backbones",
    "build_backbone": "geo_plugin_smp._backbones",
    "SMPDecoder": "geo_plugin_smp._decoders",
    "UnetDecoder": "geo_plugin_smp._decoders",
    "UnetPlusPlusDecoder": "geo_plugin_smp._decoders",
    "MAnetDecoder": "geo_plugin_smp._decoders",
    "LinknetDecoder": "geo_plugin_smp._decoders",
    "FPNDecoder": "geo_plugin_smp._decoders",
    "PSPNetDecoder": "geo_plugin_smp._decoders",
    "PANDecoder": "geo_plugin_smp._decoders",
    "DeepLabV3Decoder": "geo_plugin_smp._decoders",
    "DeepLabV3PlusDecoder": "geo_plugin_smp._decoders",
    "UPerNetDecoder": "geo_plugin_smp._decoders",
    "SegformerDecoder": "geo_plugin_smp._decoders",
    "DPTDecoder": "geo_plugin_smp._decoders",
    "SMPModel": "geo_plugin_smp._factory",
    "SMPModelFactory": "geo_plugin_smp._factory",
}

__all__ = [
    "DPTDecoder",
    "DeepLabV3Decoder",
    "DeepLabV3PlusDecoder",
    "FPNDecoder",
    "LinknetDecoder",
    "MAnetDecoder",
    "PANDecoder",
    "PSPNetDecoder",
    "SMPBackbone",
    "SMPDecoder",
    "SMPModel",
    "SMPModelFactory",
    "SegformerDecoder",
    "UPerNetDecoder",
    "UnetDecoder",
    "UnetPlusPlusDecoder",
    "__version__",
    "build_backbone",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'geo_plugin_smp' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
