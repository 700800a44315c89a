"""Checkpoints written atomically: a kill mid-write never leaves a corrupt ``last.ckpt``.

Loading refuses pickled objects (``torch.load(weights_only=True)``) unless the run opts in
(``--trust-checkpoint``), and turns an unreadable file into a :class:`~geo_core.CheckpointError`
naming it.
"""

from __future__ import annotations

import logging
import pickle
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch.plugins.io import TorchCheckpointIO

from geo_core._atomic import atomic_path
from geo_core._errors import (
    UNTRUSTED_PICKLE,
    CheckpointError,
    is_raw_pickle,
    refuses_pickled_objects,
    torch_load_reason,
)

__all__ = ["AtomicCheckpointIO", "REFUSED_PICKLE", "warn_trusted", "load_error"]

log = logging.getLogger("geo_core.checkpoints")

#: why a checkpoint with pickled objects is refused, and the two ways to opt in
REFUSED_PICKLE = (
    "refused: the checkpoint holds pickled objects beyond plain weights, and unpickling runs code "
    "from the file. If you trust its source, pass --trust-checkpoint (trust_checkpoint=True in "
    "Python) or load it with torch.load(..., weights_only=False) yourself"
)


def load_error(exc: BaseException, path: Path) -> CheckpointError:
    """The CheckpointError for a failed ``torch.load``: refused pickled objects, or a damaged file."""
    if is_raw_pickle(path):
        return CheckpointError(UNTRUSTED_PICKLE, path=path)
    if isinstance(exc, pickle.UnpicklingError) and refuses_pickled_objects(exc):
        return CheckpointError(REFUSED_PICKLE, path=path)
    return CheckpointError(f"cannot read the checkpoint (truncated or corrupt): {torch_load_reason(exc)}", path=path)


def warn_trusted(path: Any) -> None:
    """Say, once per load, that a checkpoint is unpickled on the user's word."""
    log.warning("loading %s with pickled objects allowed (--trust-checkpoint): only for files you trust", path)


class AtomicCheckpointIO(TorchCheckpointIO):
    """``torch.save`` to a temporary file in the same folder, fsync, then rename onto the final name.

    Args:
        trust_checkpoint: Allow pickled objects when loading (runs code from the file).
    """

    def __init__(self, trust_checkpoint: bool = False) -> None:
        super().__init__()
        self.trust_checkpoint = trust_checkpoint

    def save_checkpoint(self, checkpoint: dict[str, Any], path: Any, storage_options: Any | None = None) -> None:
        """Save ``checkpoint`` to ``path`` atomically."""
        try:
            with atomic_path(Path(path)) as tmp:
                torch.save(checkpoint, tmp)
        except OSError as exc:  # disk full, quota, permissions: say which checkpoint
            raise OSError(exc.errno, f"cannot write checkpoint {path}: {exc.strerror or exc}") from exc

    def load_checkpoint(
        self, path: Any, map_location: Any | None = None, weights_only: bool | None = None
    ) -> dict[str, Any]:
        """Load with ``weights_only=True`` unless the run trusts checkpoints or the caller passes False."""
        if self.trust_checkpoint:
            warn_trusted(path)
            weights_only = False
        if weights_only is not False and is_raw_pickle(path):  # before torch warns about the pickle protocol
            raise CheckpointError(UNTRUSTED_PICKLE, path=Path(path))
        try:
            return super().load_checkpoint(
                path,
                map_location=map_location,  # type: ignore[no-any-return]
                weights_only=True if weights_only is None else weights_only,
            )
        except FileNotFoundError:
            raise
        except Exception as exc:  # the unpickler fails on damaged bytes with any type (IndexError, KeyError, ...)
            raise load_error(exc, Path(path)) from exc
