"""geo-plugin-torchgeo: torchgeo's pretrained weights as backbones, its datamodules, GeoDataset sampling.

Importing this package is cheap (no torch, no torchgeo); components import them on use.

Example:
    >>> import geo_core
    >>> "torchgeo:ResNet50_Weights.SENTINEL2_ALL_MOCO" in geo_core.BACKBONES
    True
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from geo_plugin_torchgeo._backbone import TorchGeoBackbone, build_backbone
    from geo_plugin_torchgeo._datamodules import build_datamodule
    from geo_plugin_torchgeo._geo import GeoSamplerDataModule, raster_dataset, to_geo_batch

__all__ = [
    "GeoSamplerDataModule",
    "TorchGeoBackbone",
    "build_backbone",
    "build_datamodule",
    "raster_dataset",
    "to_geo_batch",
]

_LAZY = {
    "TorchGeoBackbone": "geo_plugin_torchgeo._backbone",
    "build_backbone": "geo_plugin_torchgeo._backbone",
    "build_datamodule": "geo_plugin_torchgeo._datamodules",
    "GeoSamplerDataModule": "geo_plugin_torchgeo._geo",
    "raster_dataset": "geo_plugin_torchgeo._geo",
    "to_geo_batch": "geo_plugin_torchgeo._geo",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'geo_plugin_torchgeo' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
