"""Saving and loading a built model's weights (a plain state dict, safe to load)."""

from __future__ import annotations

import pickle
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn

from geo_core._atomic import atomic_path
from geo_core._errors import (
    UNTRUSTED_PICKLE,
    CheckpointError,
    is_raw_pickle,
    refuses_pickled_objects,
    torch_load_reason,
)
from geo_core._keys import key_report

__all__ = ["save_state_dict", "load_state_dict"]


def save_state_dict(model: nn.Module, path: str | Path) -> Path:
    """Write ``model.state_dict()`` to ``path`` atomically (a reader never sees a partial file).

    Example:
        >>> import tempfile, pathlib, torch
        >>> p = save_state_dict(torch.nn.Linear(2, 2), pathlib.Path(tempfile.mkdtemp()) / "w.pt")
        >>> p.name
        'w.pt'
    """
    final = Path(path)
    with atomic_path(final) as tmp:
        torch.save(model.state_dict(), tmp)
    return final


def _unwrap(obj: Any) -> dict[str, Any]:
    if isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict):  # a Lightning checkpoint
        obj = obj["state_dict"]
    if not isinstance(obj, dict):
        raise TypeError(f"expected a state dict, found {type(obj).__name__}")
    return obj


def load_state_dict(
    model: nn.Module, path: str | Path, *, strict: bool = True, weights_only: bool = True, map_location: Any = "cpu"
) -> nn.Module:
    """Load weights saved by :func:`save_state_dict` (or a Lightning checkpoint) into ``model``.

    Lightning checkpoints are unwrapped (``state_dict`` key, ``model.`` prefix
    stripped when the model's own keys lack it).

    Args:
        model: The model to fill (built with the same configuration).
        path: The file.
        strict: Require exactly the model's keys.
        weights_only: Refuse pickled code (``torch.load(weights_only=True)``); set
            False only for a file you trust.
        map_location: Where tensors are loaded.

    Raises:
        CheckpointError: Missing, unreadable or truncated file, unsafe content, or mismatched keys.
    """
    p = Path(path)
    if not p.is_file():
        raise CheckpointError("no such checkpoint file", path=p)
    if not weights_only:
        warnings.warn(
            f"loading {p} with weights_only=False: unpickling can run code from the file; "
            "do this only for a file you trust",
            UserWarning,
            stacklevel=2,
        )
    if weights_only and is_raw_pickle(p):  # refused before torch warns about the pickle protocol
        raise CheckpointError(
            UNTRUSTED_PICKLE.replace("--trust-checkpoint (trust_checkpoint=True in Python)", "weights_only=False"),
            path=p,
        )
    try:
        obj = torch.load(p, map_location=map_location, weights_only=weights_only)
        state = _unwrap(obj)
    except pickle.UnpicklingError as exc:
        if not refuses_pickled_objects(exc):  # a damaged file, not one holding objects
            raise CheckpointError(
                f"cannot read the checkpoint (truncated or corrupt): {torch_load_reason(exc)}", path=p
            ) from exc
        raise CheckpointError(
            f"refused to load objects other than tensors ({exc}); pass weights_only=False only for a trusted file",
            path=p,
        ) from exc
    except Exception as exc:  # damaged bytes fail the unpickler with any type (IndexError, KeyError, ...)
        raise CheckpointError(f"cannot read the checkpoint (truncated or not a state dict): {exc}", path=p) from exc
    own = model.state_dict()
    if state and not any(k in own for k in state) and all(k.startswith("model.") for k in state):
        state = {k[len("model.") :]: v for k, v in state.items()}
    try:
        result = model.load_state_dict(state, strict=False)
    except RuntimeError as exc:  # shape mismatches
        raise CheckpointError(
            f"weights do not match the model: {exc}; build the model with the same configuration", path=p
        ) from exc
    if strict and (result.missing_keys or result.unexpected_keys):
        raise CheckpointError(
            f"weights do not match the model: {key_report(result.missing_keys, result.unexpected_keys)}; "
            "build the model with the same configuration or pass strict=False",
            path=p,
        )
    return model
