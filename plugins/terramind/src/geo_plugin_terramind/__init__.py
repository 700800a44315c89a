"""geo-plugin-terramind: TerraMind (IBM/ESA) multimodal backbones ``terramind:<variant>``.

Importing this package is cheap (no torch); the model modules load on first use.

Example:
    >>> import geo_core
    >>> geo_core.BACKBONES.info("terramind:terramind_v1_base").metadata["dim"]
    768
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from geo_plugin_terramind._manifest import backbone_config, variant_names
from geo_plugin_terramind._modalities import MODALITIES, Modality, canonical_modality

if TYPE_CHECKING:
    from geo_plugin_terramind._checkpoint import filter_state_dict
    from geo_plugin_terramind._encoder import TerraMindViT
    from geo_plugin_terramind._variants import build_backbone

__all__ = [
    "MODALITIES",
    "Modality",
    "TerraMindViT",
    "backbone_config",
    "build_backbone",
    "canonical_modality",
    "filter_state_dict",
    "variant_names",
]

_LAZY = {
    "TerraMindViT": "geo_plugin_terramind._encoder",
    "build_backbone": "geo_plugin_terramind._variants",
    "filter_state_dict": "geo_plugin_terramind._checkpoint",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'geo_plugin_terramind' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
