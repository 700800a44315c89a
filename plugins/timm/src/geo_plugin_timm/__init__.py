"""geo-plugin-timm: every timm model as a geo backbone (``timm:<name>``) and ``TimmModelFactory``.

Importing this package is cheap (no torch, no timm); builders import them on use.

Example:
    >>> import geo_core
    >>> "timm:resnet18" in geo_core.BACKBONES
    True
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from geo_plugin_timm._backbone import TimmBackbone, build_backbone
    from geo_plugin_timm._factory import TimmModel, TimmModelFactory
    from geo_plugin_timm._weights import fetch_timm_weights, weight_refs

__all__ = [
    "TimmBackbone",
    "TimmModel",
    "TimmModelFactory",
    "build_backbone",
    "fetch_timm_weights",
    "weight_refs",
]

_LAZY = {
    "TimmBackbone": "geo_plugin_timm._backbone",
    "build_backbone": "geo_plugin_timm._backbone",
    "TimmModel": "geo_plugin_timm._factory",
    "TimmModelFactory": "geo_plugin_timm._factory",
    "fetch_timm_weights": "geo_plugin_timm._weights",
    "weight_refs": "geo_plugin_timm._weights",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'geo_plugin_timm' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
