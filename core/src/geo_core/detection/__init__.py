"""Object detection: torchvision detectors on any registered backbone, GeoJSON in and out.

Torch-free at import; the heavy modules load on first attribute access.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "ObjectDetectionModelFactory": "geo_core.detection._model",
    "DetectionModel": "geo_core.detection._model",
    "build_detector": "geo_core.detection._model",
    "geometries_to_pixel_boxes": "geo_core.detection._geojson",
    "detections_to_geojson": "geo_core.detection._geojson",
    "write_geojson": "geo_core.detection._geojson",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'geo_core.detection' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
