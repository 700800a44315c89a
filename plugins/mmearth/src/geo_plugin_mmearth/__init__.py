"""geo-plugin-mmearth: MMEarth ConvNeXt-V2 backbones ``mmearth:mmearth_convnextv2_<size>``.

Importing this package is cheap (no torch); the model module loads on first use.

Example:
    >>> import geo_core
    >>> geo_core.BACKBONES.info("mmearth:mmearth_convnextv2_atto").metadata["out_channels"]
    [40, 80, 160, 320]
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from geo_plugin_mmearth._convnextv2 import ConvNeXtV2, build_convnextv2, checkpoint_filter_fn

__all__ = ["ConvNeXtV2", "build_convnextv2", "checkpoint_filter_fn"]


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module 'geo_plugin_mmearth' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module("geo_plugin_mmearth._convnextv2"), name)
    globals()[name] = value
    return value
