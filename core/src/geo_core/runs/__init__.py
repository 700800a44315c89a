"""Runs: compose, check, complete and build a run configuration; the Python API of ``geo train|...``.

This layer sits above tasks and models and below the CLI: ``geo train`` parses its
arguments and calls :func:`train`, nothing more. Importing this package is cheap;
torch and lightning load inside the functions.

Example:
    >>> from geo_core import runs  # doctest: +SKIP
    >>> trainer = runs.train("examples/segmentation_tiny.yaml", {"trainer.max_epochs": 1})  # doctest: +SKIP
    >>> runs.test("examples/segmentation_tiny.yaml", ckpt="best")  # doctest: +SKIP
"""

from __future__ import annotations

from geo_core._lazy import lazy_getattr

_LAZY: dict[str, str] = {
    "RunConfig": "geo_core.runs._config",
    "Built": "geo_core.runs._config",
    "compose": "geo_core.runs._config",
    "check": "geo_core.runs._config",
    "with_defaults": "geo_core.runs._config",
    "build": "geo_core.runs._config",
    "dump": "geo_core.runs._config",
    "find_checkpoint": "geo_core.runs._config",
    "checkpoint_dir": "geo_core.runs._config",
    "load_config": "geo_core.runs._api",
    "train": "geo_core.runs._api",
    "validate": "geo_core.runs._api",
    "test": "geo_core.runs._api",
    "predict": "geo_core.runs._api",
    "run_embedding": "geo_core.runs._api",
}

__all__ = [
    "RunConfig",
    "Built",
    "compose",
    "check",
    "with_defaults",
    "build",
    "dump",
    "find_checkpoint",
    "checkpoint_dir",
    "load_config",
    "train",
    "validate",
    "test",
    "predict",
    "run_embedding",
]

__getattr__ = lazy_getattr(__name__, _LAZY)
