"""Hugging Face weights through ``huggingface_hub`` (its cache, ``HF_ENDPOINT``, offline mode and tokens).

``huggingface_hub`` reads ``HF_ENDPOINT`` and ``HF_HUB_OFFLINE`` once, when imported; the values are read
here at call time and passed explicitly, so changing them in a running process takes effect.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from geo_core._errors import MissingDependencyError, WeightsError, WeightsOfflineError
from geo_core.weights import _env
from geo_core.weights._ref import WeightRef

__all__ = ["cached_hf", "fetch_hf"]

_INSTALL = "pip install 'huggingface_hub>=0.24'"


def _hub() -> Any:
    try:
        import huggingface_hub
    except ImportError as exc:
        raise MissingDependencyError("huggingface_hub", _INSTALL, "released weights on Hugging Face") from exc
    return huggingface_hub


def cached_hf(ref: WeightRef) -> Path | None:
    """The cached file of a Hugging Face reference without touching the network, else ``None``."""
    hub = _hub()
    found = hub.try_to_load_from_cache(
        ref.hf_repo, ref.filename, cache_dir=_env.hf_cache_dir(), revision=ref.revision, repo_type=ref.repo_type
    )
    return Path(found) if isinstance(found, str) else None


def _status(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    return getattr(response, "status_code", None)


def _translate(exc: Exception, ref: WeightRef, name: str) -> WeightsError:
    """One clear message per failure, naming the fix."""
    from huggingface_hub import errors

    src, endpoint = ref.source, _env.hf_endpoint()
    if isinstance(exc, errors.LocalEntryNotFoundError):
        var = _env.offline_variable()
        if var is not None:
            return WeightsOfflineError(
                f"weights not cached and {var}=1: fetch {src} into the Hugging Face cache {_env.hf_cache_dir()} "
                f"(on a connected machine: `geo weights download {name or src}`, then copy that folder here)",
                name=name,
                source=src,
            )
        cause = exc.__cause__ or exc.__context__
        return WeightsError(
            f"could not reach {endpoint} to fetch {src} ({type(cause).__name__ if cause else exc}); "
            "check the network or HF_ENDPOINT, or pre-fetch with `geo weights download`",
            name=name,
            source=src,
        )
    if isinstance(exc, errors.GatedRepoError):
        fix = (
            "set HF_TOKEN (or run `hf auth login`) with a token"
            if _status(exc) == 401
            else "your token is refused: use a token"
        )
        return WeightsError(
            f"{ref.hf_repo} is a gated repository; accept its terms at {ref.page}, then {fix} of that account",
            name=name,
            source=src,
        )
    if isinstance(exc, errors.RepositoryNotFoundError):
        return WeightsError(
            f"repository {ref.hf_repo} not found at {endpoint} (a private repository needs HF_TOKEN)",
            name=name,
            source=src,
        )
    if isinstance(exc, errors.RevisionNotFoundError):
        return WeightsError(f"revision {ref.revision!r} not found in {ref.hf_repo}", name=name, source=src)
    if isinstance(exc, errors.EntryNotFoundError):
        return WeightsError(
            f"file {ref.filename!r} not found in {ref.hf_repo} (HTTP 404); see the files at "
            f"{ref.page}/tree/{ref.revision or 'main'}",
            name=name,
            source=src,
            status=404,
        )
    status = _status(exc)
    if status is not None:
        return WeightsError(
            f"{endpoint} answered HTTP {status} for {src}; run the command again later",
            name=name,
            source=src,
            status=status,
        )
    return WeightsError(
        f"download of {src} from {endpoint} failed: {type(exc).__name__}: {exc}; run the command again to resume",
        name=name,
        source=src,
    )


def fetch_hf(ref: WeightRef, name: str = "") -> Path:
    """Download (or find in the cache) a Hugging Face file; return its local path."""
    hub = _hub()
    try:
        found = hub.hf_hub_download(
            ref.hf_repo,
            ref.filename,
            revision=ref.revision,
            repo_type=ref.repo_type,
            cache_dir=_env.hf_cache_dir(),
            endpoint=_env.hf_endpoint(),
            local_files_only=_env.is_offline(),
            etag_timeout=_env.timeout(),
        )
    except Exception as exc:  # every huggingface_hub/httpx failure becomes one WeightsError with the cause chained
        raise _translate(exc, ref, name) from exc
    return Path(found)
