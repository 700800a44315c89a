"""geo-plugin-clay: Clay v1 / v1.5 backbones ``clay:<variant>`` (wavelength-conditioned, metadata-aware).

Importing this package is cheap (no torch); the model module loads on first use.

Example:
    >>> import geo_core
    >>> geo_core.BACKBONES.info("clay:clay_v1_base").metadata["embed_dim"]
    768
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from geo_plugin_clay._manifest import backbone_config, variant_names
from geo_plugin_clay._wavelengths import WAVELENGTHS, resolve_wavelengths

if TYPE_CHECKING:
    from geo_plugin_clay._clay import ClayEncoder, build_backbone, filter_clay_state_dict, load_clay_checkpoint

__all__ = [
    "ClayEncoder",
    "WAVELENGTHS",
    "backbone_config",
    "build_backbone",
    "filter_clay_state_dict",
    "load_clay_checkpoint",
    "resolve_wavelengths",
    "variant_names",
]

_LAZY = {
    "ClayEncoder": "geo_plugin_clay._clay",
    "build_backbone": "geo_plugin_clay._clay",
    "filter_clay_state_dict": "geo_plugin_clay._clay",
    "load_clay_checkpoint": "geo_plugin_clay._clay",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'geo_plugin_clay' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
