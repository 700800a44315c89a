"""Conformance checks and fakes that every plugin's tests (and third parties) reuse.

Importing this package is cheap; torch loads when a fake or check is first used.
"""

from __future__ import annotations

from geo_core._lazy import lazy_getattr

_LAZY: dict[str, str] = {
    "fake_distribution": "geo_core.testing._distributions",
    "write_geotiff": "geo_core.testing._rasters",
    "make_segmentation_folder": "geo_core.testing._rasters",
    "TinyCNNBackbone": "geo_core.testing._fakes",
    "TinyViTBackbone": "geo_core.testing._fakes",
    "TinyDecoder": "geo_core.testing._fakes",
    "check_backbone": "geo_core.testing._conformance",
    "check_decoder": "geo_core.testing._conformance",
    "check_neck": "geo_core.testing._conformance",
    "check_model_factory": "geo_core.testing._conformance",
    "check_plugin_metadata": "geo_core.testing._metadata",
    "check_datamodule": "geo_core.testing._lightning",
    "check_task": "geo_core.testing._lightning",
    "check_loss": "geo_core.testing._kinds",
    "check_detection_model_factory": "geo_core.testing._detection",
    "check_engine": "geo_core.testing._kinds",
    "TinyGeoDataModule": "geo_core.testing._datamodules",
    "WeightServer": "geo_core.testing._weight_server",
    "checkpoint_bytes": "geo_core.testing._weight_server",
    "check_key_report": "geo_core.testing._keys",
}

__all__ = sorted(_LAZY)


__getattr__ = lazy_getattr(__name__, _LAZY)
