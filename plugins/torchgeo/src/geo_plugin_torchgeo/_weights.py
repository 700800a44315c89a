"""Find torchgeo weight files (local copies first, else fetched by ``geo_core.weights``) and load them."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from geo_core import CheckpointError
from geo_core.weights import fetch_weights
from torch import nn

from geo_plugin_torchgeo._index import weight_ref

__all__ = ["weights_search_dirs", "find_weights_file", "load_weights"]

#: Environment variable naming a folder of downloaded torchgeo weight files.
ENV_DIR = "GEO_TORCHGEO_WEIGHTS"


def weights_search_dirs(weights_dir: str | Path | None = None) -> list[Path]:
    """Folders searched for a weight file, in order.

    ``weights_dir`` when given; otherwise ``$GEO_TORCHGEO_WEIGHTS`` and torch's hub
    cache (``$TORCH_HOME/hub/checkpoints``), where torchgeo itself stores downloads.
    """
    if weights_dir is not None:
        return [Path(weights_dir).expanduser()]
    import torch.hub

    dirs = [Path(os.environ[ENV_DIR]).expanduser()] if os.environ.get(ENV_DIR) else []
    return [*dirs, Path(torch.hub.get_dir()) / "checkpoints"]


def find_weights_file(
    name: str, entry: dict[str, Any], ckpt_path: str | Path | None = None, weights_dir: str | Path | None = None
) -> Path:
    """Return the local file of weights ``name``, fetching it on first use.

    ``ckpt_path`` or ``weights_dir`` name local files only. Otherwise ``$GEO_TORCHGEO_WEIGHTS`` and torch's
    hub cache are searched, and else the enum's URL is fetched into geo's weight cache (hash-checked).

    Raises:
        CheckpointError: ``ckpt_path``/``weights_dir`` lack the file; the message names it and the URL.
        WeightsError: The download failed or, offline, the file is not cached.
    """
    file = str(entry["file"])
    if ckpt_path is not None:
        path = Path(ckpt_path).expanduser()
        path = path / file if path.is_dir() else path
        if not path.is_file():
            raise CheckpointError(
                f"weights {name} not found (expected the file {file}; download it from {entry['url']})", path=path
            )
        return path
    dirs = weights_search_dirs(weights_dir)
    for d in dirs:
        if (d / file).is_file():
            return d / file
    if weights_dir is None:
        return fetch_weights(weight_ref(entry), name=f"torchgeo:{name}")
    raise CheckpointError(
        f"weights file {file} for torchgeo:{name} not found in {weights_dir}; fetch it from {entry['url']} "
        "into that folder, or drop weights_dir= to let geo fetch and cache it, or build with pretrained=False"
    )


def load_weights(
    module: nn.Module, path: Path, *, allow_missing: tuple[str, ...] = (), skip: tuple[str, ...] = ()
) -> None:
    """Load a torchgeo state dict into ``module`` (features-only wrappers allowed).

    Keys of modules the features wrapper pruned (classifier, final norm, blocks
    after the last selected level) are ignored, as are keys starting with ``skip``
    (a head of another size); any other mismatch is an error.
    """
    import torch

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise CheckpointError(f"cannot read torchgeo weights: {exc}", path=path) from exc
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if skip:
        state = {k: v for k, v in state.items() if not k.startswith(skip)}
    modules = dict(module.named_modules())
    own = module.state_dict()
    stray = []
    for key in state:
        parent = key.rpartition(".")[0]
        if key not in own and parent in modules and not isinstance(modules[parent], nn.Identity):
            stray.append(key)
    if stray:
        raise CheckpointError(f"weights hold parameters the model does not have, e.g. {stray[:5]}", path=path)
    try:
        missing, _ = module.load_state_dict({k: v for k, v in state.items() if k in own}, strict=False)
    except RuntimeError as exc:
        raise CheckpointError(f"weights do not fit the model: {exc}", path=path) from exc
    missing = [k for k in missing if not k.startswith(allow_missing)]
    if missing:
        raise CheckpointError(f"weights lack {len(missing)} parameters of the model, e.g. {missing[:5]}", path=path)
