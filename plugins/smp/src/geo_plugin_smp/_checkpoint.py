"""Loading local weight files into smp encoders."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from geo_core import CheckpointError
from torch import Tensor, nn

__all__ = ["read_state_dict", "load_encoder_weights"]

_WRAPPERS = ("state_dict", "model", "model_state_dict", "module")


def read_state_dict(path: str | Path) -> dict[str, Tensor]:
    """Read a ``.pt``/``.pth``/``.ckpt`` (tensors only) or ``.safetensors`` file into a flat state dict.

    Lightning checkpoints and ``{"model": ...}`` wrappers are unwrapped.

    Raises:
        CheckpointError: Missing, unreadable, or not a state dict.
    """
    p = Path(path)
    if not p.is_file():
        raise CheckpointError("weight file not found (backbone_ckpt_path / ckpt_path)", path=p)
    try:
        if p.suffix == ".safetensors":
            from safetensors.torch import load_file

            obj: Any = load_file(str(p), device="cpu")
        else:
            obj = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise CheckpointError(f"cannot read weights: {type(exc).__name__}: {exc}", path=p) from exc
    while isinstance(obj, Mapping) and not any(isinstance(v, Tensor) for v in obj.values()):
        inner = next((obj[k] for k in _WRAPPERS if isinstance(obj.get(k), Mapping)), None)
        if inner is None:
            break
        obj = inner
    if not isinstance(obj, Mapping):
        raise CheckpointError(f"expected a state dict, found {type(obj).__name__}", path=p)
    return {str(k): v for k, v in obj.items() if isinstance(v, Tensor)}


def _best_prefix(keys: list[str], target: set[str]) -> str:
    """The prefix whose removal maps the most checkpoint keys onto ``target``."""
    counts: dict[str, int] = {}
    probe = sorted(target, key=len, reverse=True)[:64]
    for k in keys:
        for t in probe:
            if k.endswith(t) and (len(k) == len(t) or k[-len(t) - 1] == "."):
                prefix = k[: len(k) - len(t)]
                counts[prefix] = counts.get(prefix, 0) + 1
                break
    if not counts:
        return ""
    return max(counts, key=lambda p: (counts[p], -len(p)))


def _adapt_input_conv(w: Tensor, in_channels: int) -> Tensor:
    """Repeat a first-convolution kernel over ``in_channels`` inputs (smp's rule, magnitude preserved)."""
    old = w.shape[1]
    if in_channels == 1:
        return w.sum(1, keepdim=True)
    idx = torch.arange(in_channels) % old
    return w[:, idx] * (old / in_channels)


def load_encoder_weights(module: nn.Module, path: str | Path, in_channels: int) -> None:
    """Load a weight file into ``module``, adapting the first convolution to ``in_channels``.

    The file may hold the bare module, a whole smp model (``encoder.`` prefix) or a
    Lightning checkpoint: the key prefix that matches best is stripped. A single 4-D
    weight whose input-channel count differs (the stem) is adapted by repetition.

    Raises:
        CheckpointError: Keys missing from the file, or shapes that cannot be adapted.
    """
    own = module.state_dict()
    sd = read_state_dict(path)
    prefix = _best_prefix(list(sd), set(own))
    sd = {k[len(prefix) :]: v for k, v in sd.items() if k.startswith(prefix)}
    missing = [k for k in own if k not in sd and not k.endswith("num_batches_tracked")]
    if missing:
        raise CheckpointError(
            f"{len(missing)} encoder weights are missing from the file (e.g. {missing[:3]}); "
            f"is it a checkpoint of this encoder? (stripped prefix {prefix!r})",
            path=path,
        )
    adapted: list[str] = []
    bad: list[str] = []
    for k, v in own.items():
        if k not in sd or sd[k].shape == v.shape:
            continue
        w = sd[k]
        if w.ndim == 4 and v.ndim == 4 and w.shape[0] == v.shape[0] and w.shape[2:] == v.shape[2:] and not adapted:
            sd[k] = _adapt_input_conv(w, v.shape[1]).to(v.dtype)
            adapted.append(k)
        else:
            bad.append(f"{k}: file {tuple(w.shape)} vs model {tuple(v.shape)}")
    if bad:
        raise CheckpointError("weights do not fit this encoder: " + "; ".join(bad[:3]), path=path)
    module.load_state_dict({k: sd[k] for k in own if k in sd}, strict=False)
