"""Data contracts shared by datamodules and ``geo predict`` (torch-free).

A datamodule may expose ``scene_preprocessing() -> ScenePreprocessing``; ``geo predict``
then reads and normalises whole scenes exactly like the training samples. Without it,
prediction reads every band and applies no normalisation (and logs a note).
"""

from __future__ import annotations

from geo_core.data._preprocessing import ScenePreprocessing, scene_preprocessing_of

__all__ = [
    "ScenePreprocessing",
    "scene_preprocessing_of",
]
