"""Where released weights come from (a local copy, else fetched by ``geo_core.weights``); reading them."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from geo_core import CheckpointError
from geo_core.weights import WeightRef, fetch_weights, hf_cache_dir, weights_dir

__all__ = ["WEIGHTS_ENV", "find_weights", "load_checkpoint_file", "local_weights", "released_ref", "weights_dir"]

#: Environment variable naming the folder that holds downloaded weight files (read by ``geo_core.weights``).
WEIGHTS_ENV = "GEO_WEIGHTS_DIR"


def _candidates(repo: str, filename: str) -> list[Path]:
    base = weights_dir()
    out = [base / filename, base / repo / filename, base / repo.rsplit("/", 1)[-1] / filename]
    snapshots = hf_cache_dir() / ("models--" + repo.replace("/", "--")) / "snapshots"
    if snapshots.is_dir():
        out += sorted(snapshots.glob(f"*/{filename}"))
    else:
        out.append(snapshots / "<revision>" / filename)
    return out


def released_ref(variant: str) -> WeightRef | None:
    """The released weights of ``variant`` from its manifest ``[backbone.<variant>.weights]`` table."""
    from geo_plugin_prithvi._manifest import backbone_config

    table = backbone_config(variant).get("weights")
    return WeightRef.from_mapping(table) if table else None


def local_weights(repo: str, filename: str) -> Path | None:
    """A copy already on disk: in ``$GEO_WEIGHTS_DIR`` (flat or ``<org>/<repo>/``) or any Hugging Face snapshot."""
    for path in _candidates(repo, filename):
        if path.is_file():
            return path
    return None


def find_weights(variant: str, repo: str, filename: str) -> Path:
    """Return the local path of a released weight file, fetching it on first use.

    Files already on disk are used first: ``$GEO_WEIGHTS_DIR/<file>``, ``$GEO_WEIGHTS_DIR/<org>/<repo>/<file>``,
    ``$GEO_WEIGHTS_DIR/<repo>/<file>`` (default folder ``~/.cache/geo/weights``) and any snapshot in the
    Hugging Face cache. Otherwise :func:`geo_core.weights.fetch_weights` downloads it from the Hugging Face
    repository (cached, verified; ``GEO_OFFLINE=1`` uses only cached files).

    Raises:
        CheckpointError: The variant has no released weights.
        WeightsError: The download failed, or offline and not cached (the message says what to fetch and where).
    """
    if not repo or not filename:
        raise CheckpointError(
            f"{variant} has no released weights; pass ckpt_path=<file> (backbone_ckpt_path in a model config) "
            "or build it with pretrained=False"
        )
    found = local_weights(repo, filename)
    if found is not None:
        return found
    return fetch_weights(WeightRef(hf_repo=repo, filename=filename), name=variant)


def load_checkpoint_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a state dict with ``torch.load(weights_only=True)``; unwraps ``state_dict``/``model`` containers.

    Raises:
        CheckpointError: Missing, unreadable, or not a state dict.
    """
    import torch

    p = Path(path).expanduser()
    if not p.is_file():
        raise CheckpointError("checkpoint file does not exist", path=p)
    try:
        obj = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise CheckpointError(f"cannot read the checkpoint ({type(exc).__name__}: {exc})", path=p) from exc
    for key in ("state_dict", "model", "model_state_dict"):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
            break
    if not isinstance(obj, dict) or not all(isinstance(k, str) for k in obj):
        raise CheckpointError(f"expected a state dict (name -> tensor), got {type(obj).__name__}", path=p)
    return obj
