"""Lightning tasks (TerraTorch's names) and the Python API of ``geo train|validate|test|predict``.

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
    "ObjectDetectionTask": "geo_core.tasks._detection",
    "AtomicCheckpointIO": "geo_core.tasks._checkpoint_io",
    "tiled_forward": "geo_core.tasks._tiled",
    "load_config": "geo_core.tasks._api",
    "train": "geo_core.tasks._api",
    "validate": "geo_core.tasks._api",
    "test": "geo_core.tasks._api",
    "predict": "geo_core.tasks._api",
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
    "ObjectDetectionTask",
    "AtomicCheckpointIO",
    "tiled_forward",
    "load_config",
    "train",
    "validate",
    "test",
    "predict",
]


__getattr__ = lazy_getattr(__name__, _LAZY)
