"""Embedding outputs: pooling of backbone features and per-input writers (GeoTIFF, GeoParquet).

Torch-free at import; the heavy modules load on first attribute access.
"""

from __future__ import annotations

from geo_core._lazy import lazy_getattr

_LAZY = {
    "pool_features": "geo_core.embeddings._pooling",
    "token_grid": "geo_core.embeddings._pooling",
    "write_embedding_geotiff": "geo_core.embeddings._writers",
    "write_embedding_parquet": "geo_core.embeddings._writers",
    "output_path_for": "geo_core.embeddings._writers",
}

__all__ = sorted(_LAZY)


__getattr__ = lazy_getattr(__name__, _LAZY)
