"""Where released weights are looked up (nothing is ever downloaded) and how files are read."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from geo_core import CheckpointError

__all__ = ["WEIGHTS_ENV", "find_weights", "load_checkpoint_file", "weights_dir"]

#: Environment variable naming the folder that holds downloaded weight files.
WEIGHTS_ENV = "GEO_WEIGHTS_DIR"


def weights_dir() -> Path:
    """``$GEO_WEIGHTS_DIR``, else ``~/.cache/geo/weights``."""
    env = os.environ.get(WEIGHTS_ENV)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "geo" / "weights"


def _hf_cache() -> Path:
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    return Path.home() / ".cache" / "huggingface" / "hub"


def _candidates(repo: str, filename: str) -> list[Path]:
    base = weights_dir()
    out = [base / filename, base / repo / filename, base / repo.rsplit("/", 1)[-1] / filename]
    snapshots = _hf_cache() / ("models--" + repo.replace("/", "--")) / "snapshots"
    if snapshots.is_dir():
        out += sorted(snapshots.glob(f"*/{filename}"))
    else:
        out.append(snapshots / "<revision>" / filename)
    return out


def find_weights(variant: str, repo: str, filename: str) -> Path:
    """Return the local path of a released weight file.

    Looked up, in order: ``$GEO_WEIGHTS_DIR/<file>``, ``$GEO_WEIGHTS_DIR/<org>/<repo>/<file>``,
    ``$GEO_WEIGHTS_DIR/<repo>/<file>`` (default folder ``~/.cache/geo/weights``), then the
    Hugging Face hub cache (``huggingface-cli download`` puts files there).

    Raises:
        CheckpointError: The file is in none of these places; the message says what to fetch and where.
    """
    if not repo or not filename:
        raise CheckpointError(
            f"{variant} has no released weights; pass ckpt_path=<file> (backbone_ckpt_path in a model config) "
            "or build it with pretrained=False"
        )
    cands = _candidates(repo, filename)
    for path in cands:
        if path.is_file():
            return path
    dest = weights_dir()
    looked = "\n  ".join(str(p) for p in cands)
    raise CheckpointError(
        f"pretrained weights for {variant} not found. Download {filename} from the Hugging Face repository "
        f"{repo} (https://huggingface.co/{repo}), e.g.\n"
        f"  huggingface-cli download {repo} {filename} --local-dir {dest}\n"
        f"and keep it at {dest / filename} (set {WEIGHTS_ENV} to use another folder), or pass "
        f"ckpt_path=<file> (backbone_ckpt_path in a model config). Looked in:\n  {looked}"
    )


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
