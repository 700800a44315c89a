"""geo-plugin-prithvi: Prithvi-EO (NASA/IBM) backbones ``prithvi:<variant>`` and MAEs ``prithvi:<variant>_mae``.

Importing this package is cheap (no torch); the model modules load on first use.

Example:
    >>> import geo_core
    >>> geo_core.BACKBONES.info("prithvi:prithvi_eo_v2_300").metadata["embed_dim"]
    1024
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from geo_plugin_prithvi._manifest import backbone_config, variant_names
from geo_plugin_prithvi._weights import WEIGHTS_ENV, find_weights, weights_dir

if TYPE_CHECKING:
    from geo_plugin_prithvi._checkpoint import filter_encoder_state_dict, filter_mae_state_dict
    from geo_plugin_prithvi._encoder import PrithviViT
    from geo_plugin_prithvi._mae import PrithviMAE
    from geo_plugin_prithvi._variants import build_backbone, build_mae

__all__ = [
    "PrithviViT",
    "PrithviMAE",
    "build_backbone",
    "build_mae",
    "filter_encoder_state_dict",
    "filter_mae_state_dict",
    "backbone_config",
    "variant_names",
    "find_weights",
    "weights_dir",
    "WEIGHTS_ENV",
]

_LAZY = {
    "PrithviViT": "geo_plugin_prithvi._encoder",
    "PrithviMAE": "geo_plugin_prithvi._mae",
    "build_backbone": "geo_plugin_prithvi._variants",
    "build_mae": "geo_plugin_prithvi._variants",
    "filter_encoder_state_dict": "geo_plugin_prithvi._checkpoint",
    "filter_mae_state_dict": "geo_plugin_prithvi._checkpoint",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'geo_plugin_prithvi' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
