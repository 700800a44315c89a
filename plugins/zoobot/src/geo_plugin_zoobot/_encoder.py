"""Encoders: build from a timm name, take an ``nn.Module``, or extract from a checkpoint; find blocks."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch
from geo_core import CheckpointError, ConfigError
from torch import Tensor, nn

__all__ = [
    "build_timm_encoder",
    "hub_encoder_files",
    "encoder_dim",
    "pool_features",
    "tuneable_blocks",
    "load_checkpoint_file",
    "load_pretrained_zoobot",
]

log = logging.getLogger("geo_plugin_zoobot")


_HUB_PREFIXES = ("hf_hub:", "hf-hub:")


def hub_encoder_files(repo: str, with_weights: bool = True) -> tuple[dict[str, Any], Path | None]:
    """Fetch a timm-format Hub encoder (``config.json``, then its weights) through ``geo_core.weights``.

    Zoobot's released encoders (``mwalmsley/zoobot-encoder-<arch>``) use this layout. Returns the parsed
    config and the weight file (``None`` when only the config was asked for).
    """
    import json

    from geo_core.weights import WeightRef, fetch_weights

    cfg_path = fetch_weights(WeightRef(hf_repo=repo, filename="config.json"), name=f"zoobot:{repo}")
    try:
        config = json.loads(cfg_path.read_text(encoding="utf-8"))
        str(config["architecture"])  # a timm hub config names its architecture
    except (ValueError, KeyError, TypeError) as exc:
        raise CheckpointError(f"{repo}/config.json is not a timm model config ({exc})", path=cfg_path) from exc
    if not with_weights:
        return config, None
    weights = fetch_weights(
        [WeightRef(hf_repo=repo, filename=f) for f in ("model.safetensors", "pytorch_model.bin")], name=f"zoobot:{repo}"
    )
    return config, weights


def _timm_released(name: str) -> Path:
    try:
        from geo_plugin_timm import fetch_timm_weights
    except ImportError as exc:
        from geo_core import MissingDependencyError

        raise MissingDependencyError(
            "geo-plugin-timm", "pip install geo-plugin-timm", f"timm's released weights of {name}"
        ) from exc
    return fetch_timm_weights(name)


def build_timm_encoder(
    name: str, *, greyscale: bool = False, weights: str | Path | None = None, timm_kwargs: dict[str, Any] | None = None
) -> nn.Module:
    """Create a pooled timm encoder (``num_classes=0``).

    Args:
        name: timm architecture, e.g. ``"convnext_nano"`` (``"timm:"`` prefix allowed), or a Hub encoder,
            ``"hf_hub:mwalmsley/zoobot-encoder-convnext_nano"`` (Zoobot's released encoders): its config and
            weights are fetched, cached and verified by ``geo_core.weights`` and loaded by timm
            (``timm_kwargs={"pretrained": False}`` keeps random weights of that architecture).
        greyscale: One input channel (timm adapts a pretrained stem).
        weights: Local weights file (``.safetensors``/``.pth``) loaded through timm's
            ``pretrained_cfg_overlay=dict(file=...)``; ``None``: random init unless ``name`` is a Hub
            encoder or ``timm_kwargs`` asks for ``pretrained`` (timm's released file, fetched by geo).
        timm_kwargs: Passed to ``timm.create_model`` (e.g. ``in_chans``, ``drop_path_rate``).
    """
    import timm

    kwargs = dict(timm_kwargs or {})
    if name.startswith("timm:"):
        name = name[len("timm:") :]
    if greyscale:
        if kwargs.get("in_chans", 1) != 1:
            raise ConfigError(f"greyscale=True but timm_kwargs in_chans={kwargs['in_chans']}", key="greyscale")
        kwargs["in_chans"] = 1
    if name.startswith(_HUB_PREFIXES):
        load = weights is None and kwargs.get("pretrained", True)
        config, hub_file = hub_encoder_files(name.split(":", 1)[1], with_weights=bool(load))
        name = str(config["architecture"])
        kwargs = {**dict(config.get("model_args") or {}), **kwargs}
        weights = hub_file if load else weights
    elif weights is None and kwargs.get("pretrained") and "file" not in (kwargs.get("pretrained_cfg_overlay") or {}):
        weights = _timm_released(name)  # timm's own weights, fetched by geo rather than by timm
    if weights is not None:
        path = Path(weights)
        if not path.is_file():
            raise CheckpointError("encoder weights file not found", path=path)
        overlay = dict(kwargs.pop("pretrained_cfg_overlay", {}) or {})
        overlay.update({"file": str(path), "source": ""})
        kwargs["pretrained_cfg_overlay"] = overlay
        kwargs["pretrained"] = True
    kwargs.setdefault("pretrained", False)
    kwargs["num_classes"] = 0
    try:
        return timm.create_model(name, **kwargs)
    except RuntimeError as exc:
        if "Unknown model" in str(exc):
            from geo_core import close_matches

            close = close_matches(name, timm.list_models(), n=3)
            raise ConfigError(f"unknown timm architecture {name!r}; did you mean {close}?", key="name") from exc
        raise


def encoder_dim(encoder: nn.Module, channels: int = 3) -> int:
    """Feature width of a pooled encoder: ``num_features``, else ``embed_dim``, else one dummy forward."""
    for attr in ("num_features", "embed_dim"):
        value = getattr(encoder, attr, None)
        if isinstance(value, int) and value > 0:
            return value
    log.info(
        "encoder %s has neither num_features nor embed_dim: measuring with a dummy forward", type(encoder).__name__
    )
    was_training = encoder.training
    encoder.eval()
    with torch.no_grad():
        out = pool_features(encoder(torch.zeros(1, channels, 64, 64)))
    encoder.train(was_training)
    return int(out.shape[-1])


def pool_features(x: Any) -> Tensor:
    """Reduce an encoder output to ``(B, D)``: average feature maps and tokens, take the last of a list."""
    if isinstance(x, (list, tuple)):
        x = x[-1]
    if not isinstance(x, Tensor):
        raise TypeError(f"encoder must return a tensor (or list of tensors), got {type(x).__name__}")
    if x.ndim == 4:
        return x.mean(dim=(2, 3))
    if x.ndim == 3:
        return x.mean(dim=1)
    return x


def tuneable_blocks(encoder: nn.Module) -> list[tuple[list[nn.Module], list[nn.Parameter]]]:
    """Split an encoder into blocks, ordered from the input (stem) to the output.

    timm models are grouped by their ``group_matcher(coarse=True)`` (stem, then stages or
    transformer blocks), as timm's own layer decay does; other modules by their direct children
    that hold parameters. Each block is ``(modules, loose_params)``: whole submodules (put in eval
    mode when frozen) plus parameters owned directly by a parent (e.g. a ViT ``cls_token``).
    """
    target, prefix = encoder, ""
    matcher = getattr(target, "group_matcher", None)
    named = dict(encoder.named_parameters())
    groups: list[list[str]]
    if callable(matcher):
        from timm.models import group_parameters

        by_layer = group_parameters(target, matcher(coarse=True))
        groups = [[prefix + n for n in by_layer[k]] for k in sorted(by_layer)]
    else:
        groups = []
        for child_name, child in target.named_children():
            names = [f"{prefix}{child_name}.{n}" for n, _ in child.named_parameters()]
            if names:
                groups.append(names)
        direct = [prefix + n for n, _ in target.named_parameters(recurse=False)]
        if direct:
            groups.insert(0, direct)
    owner = {n: i for i, names in enumerate(groups) for n in names}
    blocks: list[tuple[list[nn.Module], list[nn.Parameter]]] = [([], []) for _ in groups]
    covered: set[str] = set()

    def visit(mod_name: str, module: nn.Module) -> None:
        pnames = [f"{mod_name}.{n}" if mod_name else n for n, _ in module.named_parameters()]
        ids = {owner.get(n) for n in pnames}
        if pnames and len(ids) == 1 and None not in ids:
            i = ids.pop()
            assert i is not None
            blocks[i][0].append(module)
            covered.update(pnames)
            return
        for child_name, child in module.named_children():
            visit(f"{mod_name}.{child_name}" if mod_name else child_name, child)

    visit("", encoder)
    for n, i in owner.items():
        if n not in covered:
            blocks[i][1].append(named[n])
    return [b for b in blocks if b[0] or b[1]]


def load_checkpoint_file(path: str | Path) -> dict[str, Any]:
    """Load a Lightning checkpoint on CPU (tensors and plain containers only).

    Raises:
        CheckpointError: Missing, truncated, or not a Lightning checkpoint.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError("checkpoint not found; pass a local .ckpt path (downloads are not done here)", path=path)
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise CheckpointError(f"cannot read checkpoint ({type(exc).__name__}: {exc})", path=path) from exc
    if not isinstance(ckpt, dict) or "state_dict" not in ckpt:
        raise CheckpointError("not a Lightning checkpoint (no 'state_dict')", path=path)
    return ckpt


def load_pretrained_zoobot(checkpoint_loc: str | Path) -> nn.Module:
    """Return the encoder of a saved Finetuneable Zoobot checkpoint, with its trained weights.

    The architecture is rebuilt from the checkpoint's hyperparameters (``name``,
    ``greyscale``, ``timm_kwargs``); a checkpoint of a model built from an in-memory
    ``encoder`` cannot be rebuilt this way.

    Raises:
        CheckpointError: The checkpoint has no encoder architecture to rebuild.
    """
    ckpt = load_checkpoint_file(checkpoint_loc)
    hp = ckpt.get("hyper_parameters", {})
    name = hp.get("name")
    if not name:
        raise CheckpointError(
            "checkpoint does not record a timm architecture (the model was built from an in-memory encoder); "
            "build the encoder yourself and load the checkpoint with Cls.load_from_checkpoint(path, encoder=...)",
            path=checkpoint_loc,
        )
    encoder = build_timm_encoder(name, greyscale=bool(hp.get("greyscale", False)), timm_kwargs=hp.get("timm_kwargs"))
    state = {k[len("encoder.") :]: v for k, v in ckpt["state_dict"].items() if k.startswith("encoder.")}
    missing, unexpected = encoder.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise CheckpointError(
            f"encoder weights do not match {name!r}: missing {missing[:5]}, unexpected {unexpected[:5]}",
            path=checkpoint_loc,
        )
    return encoder
