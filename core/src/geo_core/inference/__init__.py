"""Streaming large-scene prediction to GeoTIFF (torch and rasterio load on first use).

Windows are read from the source raster, batched through the task, blended where they
overlap and written window by window to a temporary file renamed onto the output at the
end, so memory stays bounded by the window batch and a partial output never carries
the final name. Image-level tasks (classification, multi-label, scalar regression) get one
CSV row per input file instead (:func:`predict_images`).
"""

from __future__ import annotations

from geo_core._lazy import lazy_getattr

_LAZY: dict[str, str] = {
    "PredictOptions": "geo_core.inference._options",
    "default_batch_size": "geo_core.inference._options",
    "predict_scene": "geo_core.inference._stream",
    "predict_paths": "geo_core.inference._stream",
    "predict_images": "geo_core.inference._images",
    "expand_inputs": "geo_core.inference._stream",
    "load_task_checkpoint": "geo_core.inference._stream",
    "read_preprocessed": "geo_core.inference._stream",
    "planned_outputs": "geo_core.inference._outputs",
}

__all__ = [
    "PredictOptions",
    "default_batch_size",
    "predict_scene",
    "predict_paths",
    "predict_images",
    "expand_inputs",
    "load_task_checkpoint",
    "read_preprocessed",
    "planned_outputs",
]


__getattr__ = lazy_getattr(__name__, _LAZY)
