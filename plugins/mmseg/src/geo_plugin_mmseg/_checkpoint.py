"""Loading the head weights of official mmseg checkpoints, safely.

mmengine's own loader calls ``torch.load`` without ``weights_only``, which runs whatever the
pickle names. Here a checkpoint is read with ``weights_only=True``; official checkpoints
also keep numpy objects in ``meta``, which that refuses, so reading them needs an explicit
``allow_pickle=True`` (with a warning): only for files you trust.
"""

from __future__ import annotations

import logging
import os
import pickle
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from geo_core import CheckpointError, key_report
from torch import Tensor, nn

__all__ = ["load_mmseg_checkpoint", "read_state_dict"]

log = logging.getLogger("geo_plugin_mmseg")

#: Keys an mmseg checkpoint nests its weights under (``state_dict`` in mmengine/mmcv ones).
_CONTAINERS = ("state_dict", "model", "module")


def read_state_dict(path: str | os.PathLike[str], *, allow_pickle: bool = False) -> dict[str, Tensor]:
    """Read the state dict of a checkpoint (``{"meta": ..., "state_dict": ...}`` or a bare state dict).

    Args:
        path: The checkpoint file.
        allow_pickle: Unpickle arbitrary objects (``torch.load(weights_only=False)``), with a
            warning; needed for official mmseg checkpoints, whose ``meta`` holds numpy objects.

    Raises:
        CheckpointError: The file is missing or unreadable, needs ``allow_pickle=True``, or holds no state dict.
    """
    p = Path(path)
    if not p.is_file():
        raise CheckpointError("no such checkpoint file", p)
    try:
        obj = torch.load(p, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if not allow_pickle:
            raise CheckpointError(
                f"it holds pickled objects that safe loading (weights_only=True) refuses{_unsafe_globals(p)}; "
                "official mmseg checkpoints keep numpy objects in 'meta'. If you trust the file, pass "
                "allow_pickle=True (decoder argument checkpoint_allow_pickle=True)",
                p,
            ) from exc
        warnings.warn(
            f"{p}: unpickling a checkpoint with weights_only=False (allow_pickle=True): this runs code named "
            "in the file; only do this for files you trust",
            UserWarning,
            stacklevel=2,
        )
        obj = torch.load(p, map_location="cpu", weights_only=False)
    except Exception as exc:
        raise CheckpointError(f"cannot read checkpoint: {type(exc).__name__}: {exc}", p) from exc
    for key in _CONTAINERS:
        if isinstance(obj, Mapping) and isinstance(obj.get(key), Mapping):
            obj = obj[key]
            break
    if not isinstance(obj, Mapping) or not all(isinstance(v, Tensor) for v in obj.values()):
        raise CheckpointError(f"found no state dict (expected tensors, optionally under {_CONTAINERS})", p)
    return {str(k).removeprefix("module."): v for k, v in obj.items()}


def _unsafe_globals(path: Path) -> str:
    try:
        names = torch.serialization.get_unsafe_globals_in_checkpoint(path)
    except Exception:  # an older torch or an unusual file: the message is still complete without the list
        return ""
    return f" ({', '.join(names)})" if names else ""


def load_mmseg_checkpoint(
    decoder: nn.Module,
    path: str | os.PathLike[str],
    *,
    prefix: str = "decode_head.",
    allow_pickle: bool = False,
    skip_mismatched: bool = False,
    strict: bool = True,
) -> Any:
    """Load the weights of one head of an mmseg checkpoint into an ``mmseg:<HeadName>`` decoder.

    Args:
        decoder: An :class:`~geo_plugin_mmseg.MMSegDecoder` (or a bare mmseg head).
        path: The checkpoint file.
        prefix: The head's key prefix: ``decode_head.`` or ``auxiliary_head.`` (mmseg's
            ``auxiliary_head.0.`` for the first of several); ``""`` for a head-only state dict.
        allow_pickle: See :func:`read_state_dict`.
        skip_mismatched: Skip weights whose shape differs from the decoder's (e.g.
            ``conv_seg`` for another number of classes) instead of failing.
        strict: Fail on missing or unexpected keys.

    Returns:
        torch's ``_IncompatibleKeys`` (missing and unexpected keys).

    Raises:
        CheckpointError: Unreadable file, no key with ``prefix``, or weights that do not fit.

    Example:
        >>> load_mmseg_checkpoint(head, "upernet_r50.pth", allow_pickle=True)  # doctest: +SKIP
    """
    state = read_state_dict(path, allow_pickle=allow_pickle)
    target: nn.Module = getattr(decoder, "head", decoder)
    if prefix:
        picked = {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
        if not picked:
            tops = sorted({k.split(".", 1)[0] + "." for k in state})
            raise CheckpointError(f"no weights under prefix {prefix!r}; the file has {', '.join(tops)}", path)
    else:
        picked = dict(state)
    own = target.state_dict()
    mismatched = [k for k, v in picked.items() if k in own and own[k].shape != v.shape]
    if mismatched:
        detail = "; ".join(f"{k}: {tuple(picked[k].shape)} in file, {tuple(own[k].shape)} here" for k in mismatched)
        if not skip_mismatched:
            raise CheckpointError(
                f"shapes differ ({detail}); check num_classes and the head's arguments against the checkpoint's "
                "config, or pass skip_mismatched=True to keep those weights freshly initialised",
                path,
            )
        log.info("%s: skipped weights of another shape: %s", path, detail)
        for k in mismatched:
            picked.pop(k)
    missing = sorted(set(own) - set(picked) - set(mismatched))
    unexpected = sorted(set(picked) - set(own))
    if strict and (missing or unexpected):
        raise CheckpointError(
            f"keys under {prefix!r} do not fit mmseg {type(target).__name__}: {key_report(missing, unexpected)}",
            path,
        )
    return target.load_state_dict(picked, strict=False)
