"""geo-plugin-detection: object detection with torchvision detectors on any registered backbone.

``ObjectDetectionTask`` and ``ObjectDetectionModelFactory`` (Faster R-CNN, RetinaNet, FCOS,
Mask R-CNN); predictions become GeoJSON in the image's CRS (see :mod:`geo_core.data`).
Importing this package is cheap (no torch, no torchvision); the modules load on first use.

Example:
    >>> import geo_core
    >>> "ObjectDetectionTask" in geo_core.TASKS
    True
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from geo_core import lazy_getattr

if TYPE_CHECKING:
    from geo_plugin_detection._model import DetectionModel, ObjectDetectionModelFactory, build_detector
    from geo_plugin_detection._task import ObjectDetectionTask

_LAZY = {
    "DetectionModel": "geo_plugin_detection._model",
    "ObjectDetectionModelFactory": "geo_plugin_detection._model",
    "build_detector": "geo_plugin_detection._model",
    "ObjectDetectionTask": "geo_plugin_detection._task",
}

__all__ = [
    "DetectionModel",
    "ObjectDetectionModelFactory",
    "ObjectDetectionTask",
    "build_detector",
]

__getattr__ = lazy_getattr(__name__, _LAZY)
