"""timm's own weight sources (``pretrained_cfg``: Hugging Face id or URL) as ``WeightRef``s for geo_core.weights.

geo fetches, caches and verifies the file; timm then loads it with its own loader
(``pretrained_cfg_overlay=dict(file=...)``: key filters, classifier and ``in_chans`` adaptation).
"""

from __future__ import annotations

from pathlib import Path

from geo_core import CheckpointError
from geo_core.weights import WeightRef, fetch_weights

__all__ = ["weight_refs", "fetch_timm_weights"]


def _safe_alternatives(filename: str) -> list[str]:
    """The ``.safetensors`` files timm tries before ``filename`` (timm's own rule when it exposes it)."""
    try:
        import safetensors  # noqa: F401 - timm only prefers .safetensors when it can read them
        from timm.models._hub import _get_safe_alternatives
    except ImportError:
        return []
    return list(_get_safe_alternatives(filename))


def weight_refs(name: str) -> list[WeightRef]:
    """Where timm would load ``name``'s default pretrained weights from, in timm's order; empty when none.

    A Hugging Face id (``timm/<model>.<tag>``, optionally ``@revision``) gives ``model.safetensors`` then
    ``pytorch_model.bin`` (or the cfg's ``hf_hub_filename``); otherwise the cfg's URL.
    """
    from timm.models import get_pretrained_cfg

    cfg = get_pretrained_cfg(name)
    if cfg is None:
        return []
    if cfg.file:
        return [WeightRef(path=str(cfg.file))]
    if cfg.hf_hub_id:
        repo, _, revision = str(cfg.hf_hub_id).partition("@")
        filename = cfg.hf_hub_filename or "pytorch_model.bin"
        return [
            WeightRef(hf_repo=repo, filename=f, revision=revision or None)
            for f in [*_safe_alternatives(filename), filename]
        ]
    if cfg.url:
        return [WeightRef(url=str(cfg.url))]
    return []


def fetch_timm_weights(name: str) -> Path:
    """Fetch (or find cached) the released weights of timm model ``name``.

    Raises:
        CheckpointError: timm lists no released weights for ``name``.
        WeightsError: The download failed (the message says why and what to do).
    """
    refs = weight_refs(name)
    if not refs:
        raise CheckpointError(
            f"timm:{name} has no released weights in timm; build it with pretrained=False or pass ckpt_path=<file>"
        )
    return fetch_weights(refs, name=f"timm:{name}")
