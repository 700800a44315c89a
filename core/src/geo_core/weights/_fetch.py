"""``fetch_weights``: one entry point that turns any ``WeightRef`` into a cached, verified local file."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from geo_core._errors import WeightsError, WeightsOfflineError
from geo_core.weights._ref import WeightRef
from geo_core.weights._verify import check_content, check_sha256

__all__ = ["fetch_weights", "cached_weights_path"]


def _hf_verify(path: Path, ref: WeightRef, name: str) -> None:
    """Check a Hugging Face file: content always, the declared hash via the blob name (an LFS sha256) or by hashing."""
    check_content(path, name=name, source=ref.source)
    if ref.sha256:
        blob = path.resolve().name
        known = blob if len(blob) == 64 and all(c in "0123456789abcdef" for c in blob) else None
        check_sha256(path, ref.sha256, name=name, source=ref.source, actual=known)


def fetch_weights(ref: WeightRef | Mapping[str, Any] | Sequence[WeightRef], name: str = "") -> Path:
    """Return a local, verified copy of the weights ``ref`` points to, downloading them on first use.

    Hugging Face references use ``huggingface_hub`` and its cache (``HF_ENDPOINT``, ``HF_TOKEN``, ``HF_HUB_CACHE``);
    URLs are cached under ``$GEO_WEIGHTS_DIR`` (default ``~/.cache/geo/weights``) with SHA-256 checks and resume;
    local paths are returned as they are. With ``GEO_OFFLINE=1`` or ``HF_HUB_OFFLINE=1`` only cached files are used.

    Args:
        ref: The reference, a manifest ``weights`` table, or a list of alternatives tried in order (the next
            one when the server has no such file, or when offline and it is not cached; e.g. a
            ``model.safetensors`` before a ``pytorch_model.bin``).
        name: The component the weights are for; used in messages and in the suggested
            ``geo weights download`` command.

    Returns:
        The path of the local file.

    Raises:
        WeightsOfflineError: Offline and not cached (one line naming what to fetch and where).
        WeightsError: The server failed (404, 500, timeout), the download was interrupted, or the file is
            not weights (hash mismatch, empty, an HTML page). Nothing is left under the final name.

    Example:
        >>> import tempfile, pathlib
        >>> f = pathlib.Path(tempfile.mkdtemp()) / "w.pt"
        >>> _ = f.write_bytes(b"weights")
        >>> fetch_weights(WeightRef(path=str(f))) == f
        True
    """
    if isinstance(ref, Sequence) and not isinstance(ref, str):
        return _first(list(ref), name)
    ref = WeightRef.from_mapping(ref)
    if ref.kind == "hf":
        from geo_core.weights._hub import fetch_hf

        path = fetch_hf(ref, name)
        try:
            _hf_verify(path, ref, name)
        except WeightsError:
            blob = path.resolve()  # drop the snapshot link and its blob: the next call fetches it anew
            path.unlink(missing_ok=True)
            blob.unlink(missing_ok=True)
            raise
        return path
    if ref.kind == "url":
        from geo_core.weights._url import fetch_url

        return fetch_url(ref, name)
    path = Path(str(ref.path)).expanduser()
    if not path.is_file():
        raise WeightsError(f"no weights file at {path}; check the path", name=name, source=str(path))
    if ref.sha256:
        check_sha256(path, ref.sha256, name=name, source=str(path))
    return path


def _first(refs: list[WeightRef], name: str) -> Path:
    if not refs:
        raise WeightsError("no weight reference given", name=name)
    first: WeightsError | None = None
    for ref in refs:
        try:
            return fetch_weights(ref, name)
        except WeightsOfflineError as exc:
            first = first or exc
        except WeightsError as exc:
            if exc.status != 404:
                raise
            first = first or exc
    assert first is not None
    raise first


def cached_weights_path(ref: WeightRef | Mapping[str, Any] | Sequence[WeightRef]) -> Path | None:
    """The local file of ``ref`` (or of the first cached alternative) if already there (never downloads)."""
    if isinstance(ref, Sequence) and not isinstance(ref, str):
        return next((p for p in map(cached_weights_path, ref) if p is not None), None)
    ref = WeightRef.from_mapping(ref)
    if ref.kind == "hf":
        from geo_core.weights._hub import cached_hf

        return cached_hf(ref)
    if ref.kind == "url":
        from geo_core.weights._url import cached_url

        return cached_url(ref)
    path = Path(str(ref.path)).expanduser()
    return path if path.is_file() else None
