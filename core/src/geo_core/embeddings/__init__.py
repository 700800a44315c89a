"""Embedding outputs: pooling of backbone features and per-input writers (GeoTIFF, GeoParquet).

Torch-free at import; the heavy modules load on first attribute access.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "pool_features": "geo_core.embeddings._pooling",
    "token_grid": "geo_core.embeddings._pooling",
    "write_embedding_geotiff": "geo_core.embeddings._writers",
    "write_embedding_parquet": "geo_core.embeddings._writers",
    "output_path_for": "geo_core.embeddings._writers",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'geo_core.embeddings' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
