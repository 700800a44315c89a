"""Lightning tasks (TerraTorch's names); the Python API of ``geo train|...`` is :mod:`geo_core.runs`.

Importing this package is cheap; torch and lightning load on first attribute access.

Example:
    >>> from geo_core.tasks import SemanticSegmentationTask  # doctest: +SKIP
    >>> task = SemanticSegmentationTask(model_factory="EncoderDecoderFactory",
    ...     model_args={"backbone": "tiny_cnn", "decoder": "UNetDecoder", "num_classes": 2})  # doctest: +SKIP
"""

from __future__ import annotations

from geo_core._lazy import lazy_getattr

_LAZY: dict[str, str] = {
    "BaseTask": "geo_core.tasks._base",
    "SemanticSegmentationTask": "geo_core.tasks._segmentation",
    "PixelwiseRegressionTask": "geo_core.tasks._regression",
    "ScalarRegressionTask": "geo_core.tasks._regression",
    "ClassificationTask": "geo_core.tasks._classification",
    "MultiLabelClassificationTask": "geo_core.tasks._classification",
    "EmbeddingGenerationTask": "geo_core.tasks._embedding",
    "InferenceTask": "geo_core.tasks._inference_only",
    "ReconstructionTask": "geo_core.tasks._reconstruction",
    "AtomicCheckpointIO": "geo_core.tasks._checkpoint_io",
    "tiled_forward": "geo_core.tasks._tiled",
}

__all__ = [
    "BaseTask",
    "SemanticSegmentationTask",
    "PixelwiseRegressionTask",
    "ScalarRegressionTask",
    "ClassificationTask",
    "MultiLabelClassificationTask",
    "EmbeddingGenerationTask",
    "InferenceTask",
    "ReconstructionTask",
    "AtomicCheckpointIO",
    "tiled_forward",
]


_TASK_ATTR = lazy_getattr(__name__, _LAZY)
_MOVED = ("load_config", "train", "validate", "test", "predict")


def __getattr__(name: str) -> object:
    if name in _MOVED:  # the run API moved up a layer; keep the old spelling working for a release
        import importlib
        import warnings

        warnings.warn(f"geo_core.tasks.{name} moved to geo_core.runs.{name}", DeprecationWarning, stacklevel=2)
        return getattr(importlib.import_module("geo_core.runs"), name)  # by name: tasks sit below runs
    return _TASK_ATTR(name)
