"""Released weights: fetch, cache and verify them from Hugging Face, a URL or a local path.

Importing this package never imports torch or ``huggingface_hub``.

Example:
    >>> from geo_core.weights import WeightRef
    >>> WeightRef(hf_repo="org/repo", filename="model.pt").kind
    'hf'
"""

from __future__ import annotations

from geo_core.weights._cache import CachedWeights, list_cached
from geo_core.weights._env import hf_cache_dir, is_offline, weights_dir
from geo_core.weights._fetch import cached_weights_path, fetch_weights
from geo_core.weights._ref import WeightRef

__all__ = [
    "CachedWeights",
    "WeightRef",
    "cached_weights_path",
    "fetch_weights",
    "hf_cache_dir",
    "is_offline",
    "list_cached",
    "weights_dir",
]
