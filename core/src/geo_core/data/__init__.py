"""Data contracts shared by datamodules and ``geo predict`` (torch-free).

A datamodule may expose ``scene_preprocessing() -> ScenePreprocessing``; ``geo predict``
then reads and normalises whole scenes exactly like the training samples. Without it,
prediction reads every band and applies no normalisation (and logs a note).

:data:`HLS_WAVELENGTHS` and :func:`band_wavelengths` give band names' central wavelengths
(TerraTorch's HLS names) to wavelength-conditioned backbones.

:func:`raster_reading` opens rasters without GDAL listing their folders (many chips, remote files).

GeoJSON helpers (numpy, loaded on first use) turn georeferenced geometries into pixel boxes
and detections back into a GeoJSON FeatureCollection, written atomically.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from geo_core._lazy import lazy_getattr
from geo_core.data._preprocessing import ScenePreprocessing, scene_preprocessing_of
from geo_core.data._wavelengths import HLS_SENTINEL2_BANDS, HLS_WAVELENGTHS, band_wavelengths

if TYPE_CHECKING:
    from geo_core.data._gdal import is_remote, raster_reading
    from geo_core.data._geojson import detections_to_geojson, geometries_to_pixel_boxes, write_geojson

_LAZY = {
    "raster_reading": "geo_core.data._gdal",
    "is_remote": "geo_core.data._gdal",
    "geometries_to_pixel_boxes": "geo_core.data._geojson",
    "detections_to_geojson": "geo_core.data._geojson",
    "write_geojson": "geo_core.data._geojson",
}

__all__ = [
    "HLS_SENTINEL2_BANDS",
    "HLS_WAVELENGTHS",
    "ScenePreprocessing",
    "band_wavelengths",
    "detections_to_geojson",
    "geometries_to_pixel_boxes",
    "is_remote",
    "raster_reading",
    "scene_preprocessing_of",
    "write_geojson",
]

__getattr__ = lazy_getattr(__name__, _LAZY)
