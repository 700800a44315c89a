"""smp's own encoder weight sources (``pretrained_settings``: Hugging Face repo + revision, or a URL).

geo fetches, caches and verifies the file through ``geo_core.weights``; it is then loaded the way smp
loads it (``encoder.load_state_dict`` on the 3-band encoder, then smp's ``set_in_channels``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from geo_core import CheckpointError, ConfigError
from geo_core.weights import WeightRef, fetch_weights
from torch import nn

__all__ = ["weight_refs", "resolve_weights_name", "load_released_weights", "timm_overlay"]


def timm_overlay(name: str) -> dict[str, str]:
    """For ``tu-<timm name>``: fetch timm's released file (the timm plugin's resolver) as a timm overlay."""
    try:
        from geo_plugin_timm import fetch_timm_weights
    except ImportError as exc:
        from geo_core import MissingDependencyError

        raise MissingDependencyError(
            "geo-plugin-timm", "pip install geo-plugin-timm", f"pretrained weights of smp:{name}"
        ) from exc
    return {"file": str(fetch_timm_weights(name.removeprefix("tu-"))), "source": ""}


def _settings(name: str) -> dict[str, Any]:
    import segmentation_models_pytorch as smp

    entry = smp.encoders.encoders.get(name)
    return dict(entry.get("pretrained_settings", {})) if entry else {}


def resolve_weights_name(name: str, pretrained: bool | str) -> str:
    """``True`` -> ``imagenet`` (or the encoder's only weights); a string must be one of smp's names."""
    settings = _settings(name)
    if name.startswith("tu-"):
        if pretrained is not True:
            raise ConfigError(
                f"smp:{name}: a tu- encoder takes timm's default weights (pretrained=True); pick "
                f"another tag in the name, e.g. tu-{name[3:]}.<tag>",
                key="pretrained",
            )
        return "timm"
    if not settings:
        raise CheckpointError(f"smp:{name} has no released weights in smp; use pretrained=False or ckpt_path=<file>")
    if pretrained is True:
        return "imagenet" if "imagenet" in settings else sorted(settings)[0]
    if pretrained not in settings:
        raise ConfigError(
            f"smp:{name} has no weights {pretrained!r}; choose one of {', '.join(sorted(settings))}", key="pretrained"
        )
    return str(pretrained)


def weight_refs(name: str, weights: str | None = None) -> list[WeightRef]:
    """Where smp would fetch encoder ``name``'s ``weights`` (default: imagenet) from; empty when none."""
    settings = _settings(name)
    if not settings:
        return []
    chosen = settings.get(weights or ("imagenet" if "imagenet" in settings else sorted(settings)[0]), {})
    if chosen.get("repo_id"):
        return [WeightRef(hf_repo=chosen["repo_id"], filename="model.safetensors", revision=chosen.get("revision"))]
    if chosen.get("url"):  # smp <= 0.4 kept plain URLs
        return [WeightRef(url=chosen["url"])]
    return []


def load_released_weights(encoder: nn.Module, name: str, weights: str, in_channels: int) -> Path:
    """Fetch smp's released ``weights`` for ``name`` and load them into a 3-band ``encoder``, then adapt the stem.

    Returns:
        The local weight file.
    """
    from safetensors.torch import load_file

    path = fetch_weights(weight_refs(name, weights), name=f"smp:{name}")
    try:
        state = load_file(str(path), device="cpu")
    except Exception as exc:
        raise CheckpointError(
            f"cannot read smp weights ({type(exc).__name__}: {exc}); delete the file and fetch it again", path=path
        ) from exc
    encoder.load_state_dict(state)
    encoder.set_in_channels(in_channels, pretrained=True)  # type: ignore[operator]
    return path
