"""Read and strictly load released ViT-encoder checkpoints (DOFA, Scale-MAE), naming keys as the file does.

A released file may hold the encoder under a prefix (``model.``, ``encoder.``, ``backbone.``), inside a
``state_dict`` / ``model`` container, next to parts no backbone uses (an MAE decoder, a classifier). Only
the encoder's namespace is compared with the model: a key of it that the model lacks is *unexpected*, a
model key the file lacks is *missing*; both are reported with their full names in the file.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from geo_core import CheckpointError, key_report
from torch import Tensor, nn

__all__ = ["encoder_state", "load_strict", "read_state"]

log = logging.getLogger("geo_plugin_torchgeo")


def read_state(path: str | os.PathLike[str]) -> dict[str, Any]:
    """``torch.load(weights_only=True)`` of a checkpoint file.

    Raises:
        CheckpointError: Missing, truncated / not a torch file, or not a mapping.
    """
    import torch

    p = Path(path).expanduser()
    if not p.is_file():
        raise CheckpointError("checkpoint file does not exist", path=p)
    try:
        obj = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise CheckpointError(f"cannot read the checkpoint (truncated or not a torch file?): {first}", path=p) from exc
    if not isinstance(obj, Mapping):
        raise CheckpointError(f"expected a state dict, got {type(obj).__name__}", path=p)
    return dict(obj)


def encoder_state(
    raw: Mapping[str, Any], marker: str, namespace: Sequence[str], what: str
) -> tuple[dict[str, Tensor], str]:
    """The encoder's tensors without their prefix, and the prefix.

    Args:
        raw: The loaded file (containers ``state_dict`` / ``model`` are unwrapped).
        marker: A key suffix only the encoder has (finds the prefix).
        namespace: Encoder key starts (``blocks.``, ``cls_token``, ...); other keys are not the encoder's.
        what: The family, for messages.

    Raises:
        CheckpointError: No key ends with ``marker`` (names a few of the file's keys).
    """
    for key in ("state_dict", "model", "model_state_dict"):
        inner = raw.get(key)
        if isinstance(inner, Mapping):
            raw = inner
            break
    keys = [k for k in raw if isinstance(k, str)]
    prefix = next((k[: -len(marker)] for k in keys if k.endswith(marker)), None)
    if prefix is None:
        raise CheckpointError(
            f"no {what} encoder in this checkpoint (no key ends with {marker!r}); its keys start with {keys[:6]}"
        )
    sd, skipped = {}, []
    for k, v in raw.items():
        if not (isinstance(k, str) and k.startswith(prefix) and isinstance(v, Tensor)):
            continue
        short = k[len(prefix) :]
        if short.startswith(tuple(namespace)):
            sd[short] = v
        else:
            skipped.append(k)
    if skipped:
        log.info("%s checkpoint: %d keys outside the encoder ignored (e.g. %s)", what, len(skipped), skipped[:3])
    return sd, prefix


def _few(items: list[str]) -> str:
    return f"{items[:8]}{f' ... ({len(items)} in all)' if len(items) > 8 else ''}"


def load_strict(
    model: nn.Module,
    sd: dict[str, Tensor],
    prefix: str,
    source: object,
    fix: Callable[[str, Tensor, Tensor], Tensor | None] | None = None,
) -> None:
    """Load ``sd`` into ``model``; every model key must be there with its shape.

    Args:
        model: The encoder.
        sd: Encoder tensors without ``prefix``.
        prefix: The prefix in the file (for messages).
        source: The file (for messages).
        fix: Called for a key whose shape differs (``key, file tensor, model tensor``); returns a
            replacement (e.g. a resized position embedding) or None to report the mismatch.

    Raises:
        CheckpointError: Missing, unexpected or misshapen keys, named as the file spells them.
    """
    import torch

    own = model.state_dict()
    shapes = []
    for k, v in list(sd.items()):
        if k in own and own[k].shape != v.shape:
            new = fix(k, v, own[k]) if fix else None
            if new is None:
                shapes.append(f"{prefix + k}: file {tuple(v.shape)} vs model {tuple(own[k].shape)}")
            else:
                sd[k] = new
    missing = [prefix + k for k in own if k not in sd]
    unexpected = [prefix + k for k in sd if k not in own]
    if missing or unexpected or shapes:
        parts = ([key_report(missing, unexpected)] if missing or unexpected else []) + (
            [f"shapes that do not fit {_few(shapes)}"] if shapes else []
        )
        raise CheckpointError(
            "the checkpoint does not match the model: "
            + "; ".join(parts)
            + " (a different variant or depth, or a truncated file?)",
            path=source,
        )
    with torch.no_grad():
        model.load_state_dict(sd, strict=True)
    log.info("loaded %s weights from %s", type(model).__name__, source)
