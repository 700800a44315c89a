"""Settings read from the environment at call time (never at import)."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["weights_dir", "hf_cache_dir", "hf_endpoint", "is_offline", "offline_variable", "timeout", "mirrored"]

_TRUE = {"1", "true", "yes", "on"}


def weights_dir() -> Path:
    """The cache of plain-URL weights: ``$GEO_WEIGHTS_DIR``, else ``~/.cache/geo/weights``."""
    env = os.environ.get("GEO_WEIGHTS_DIR")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "geo" / "weights"


def hf_cache_dir() -> Path:
    """The Hugging Face cache: ``$HF_HUB_CACHE``, else ``$HF_HOME/hub``, else ``~/.cache/huggingface/hub``."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    home = os.environ.get("HF_HOME") or os.path.join(os.environ.get("XDG_CACHE_HOME", "~/.cache"), "huggingface")
    return Path(home).expanduser() / "hub"


def hf_endpoint() -> str:
    """``$HF_ENDPOINT`` (a mirror, or the local test server), else ``https://huggingface.co``."""
    return (os.environ.get("HF_ENDPOINT") or "https://huggingface.co").rstrip("/")


def offline_variable() -> str | None:
    """The variable that switched offline mode on (``GEO_OFFLINE`` or ``HF_HUB_OFFLINE``), or ``None``."""
    for var in ("GEO_OFFLINE", "HF_HUB_OFFLINE"):
        if os.environ.get(var, "").strip().lower() in _TRUE:
            return var
    return None


def is_offline() -> bool:
    """Whether only cached files may be used."""
    return offline_variable() is not None


def timeout() -> float:
    """Seconds to wait for a server to answer or send more bytes: ``$GEO_WEIGHTS_TIMEOUT``, default 30."""
    try:
        return float(os.environ.get("GEO_WEIGHTS_TIMEOUT", "30"))
    except ValueError:
        return 30.0


def mirrored(url: str) -> str:
    """``url`` rewritten by ``$GEO_WEIGHTS_MIRROR`` (``prefix=replacement`` pairs, comma-separated), else as is.

    For an internal mirror of the release hosts; the cache keeps the original URL's layout, so a cache filled
    through a mirror also serves machines that use none.
    """
    for pair in os.environ.get("GEO_WEIGHTS_MIRROR", "").split(","):
        prefix, sep, replacement = pair.strip().partition("=")
        if sep and prefix and url.startswith(prefix):
            return replacement + url[len(prefix) :]
    return url
