"""geo-plugin-datasets: generic geospatial datamodules, ``geo stats`` and the Landsat cloud demo data.

Importing this package is cheap (no torch, no rasterio); the datamodules load on
first attribute access. Datamodules carry TerraTorch's names and init arguments
so configs carry over:

Example:
    >>> import geo_core
    >>> "datasets:GenericNonGeoSegmentationDataModule" in geo_core.DATAMODULES
    True
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY: dict[str, str] = {
    "GenericNonGeoSegmentationDataModule": "geo_plugin_datasets._datamodules",
    "GenericNonGeoPixelwiseRegressionDataModule": "geo_plugin_datasets._datamodules",
    "GenericNonGeoClassificationDataModule": "geo_plugin_datasets._catalog",
    "GenericNonGeoMultiLabelClassificationDataModule": "geo_plugin_datasets._catalog",
    "GenericNonGeoScalarRegressionDataModule": "geo_plugin_datasets._catalog",
    "GenericMultiModalDataModule": "geo_plugin_datasets._multimodal",
    "JointTransform": "geo_plugin_datasets._transforms",
    "compute_stats": "geo_plugin_datasets._stats",
    "grid_windows": "geo_plugin_datasets._windows",
    "read_raster": "geo_plugin_datasets._io",
    "load_stats": "geo_plugin_datasets._bands",
}

__all__ = [
    "GenericNonGeoSegmentationDataModule",
    "GenericNonGeoPixelwiseRegressionDataModule",
    "GenericNonGeoClassificationDataModule",
    "GenericNonGeoMultiLabelClassificationDataModule",
    "GenericNonGeoScalarRegressionDataModule",
    "GenericMultiModalDataModule",
    "JointTransform",
    "compute_stats",
    "grid_windows",
    "read_raster",
    "load_stats",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'geo_plugin_datasets' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
