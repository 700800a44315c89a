"""Object detection: torchvision detectors on any registered backbone, GeoJSON in and out.

Torch-free at import; the heavy modules load on first attribute access.
"""

from __future__ import annotations

from geo_core._lazy import lazy_getattr

_LAZY = {
    "ObjectDetectionModelFactory": "geo_core.detection._model",
    "DetectionModel": "geo_core.detection._model",
    "build_detector": "geo_core.detection._model",
    "geometries_to_pixel_boxes": "geo_core.data._geojson",
    "detections_to_geojson": "geo_core.data._geojson",
    "write_geojson": "geo_core.data._geojson",
}

__all__ = sorted(_LAZY)


__getattr__ = lazy_getattr(__name__, _LAZY)
