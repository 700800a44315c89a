"""Optimiser and scheduler construction: names, parameter groups, lr overrides, layer-wise decay, warmup."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from geo_core._errors import ConfigError
from geo_core._suggest import close_matches

__all__ = ["build_param_groups", "build_optimizer", "build_scheduler", "layer_ids", "warmup_factor"]

_NUMBERED = re.compile(r"^(.*?\.\d+)(?:\.|$)")


def _lookup(module: Any, name: str, kind: str, key: str) -> Any:
    obj = getattr(module, name, None)
    if obj is None or not isinstance(obj, type):
        pool = [n for n in dir(module) if not n.startswith("_") and isinstance(getattr(module, n), type)]
        close = close_matches(name, pool, n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
        raise ConfigError(f"unknown {kind} {name!r} (a class in {module.__name__}){hint}", key=key)
    return obj


def layer_ids(names: list[str], prefix: str) -> dict[str, int]:
    """Assign a depth to every parameter name under ``prefix`` (the encoder).

    Parameters are grouped by the first numbered component of their name
    (``blocks.3``, ``layer1.0``, ``stages.2``) or by their top-level child
    (``patch_embed``); groups are numbered 1.. in registration order.
    """
    out: dict[str, int] = {}
    seen: dict[str, int] = {}
    for n in names:
        if not n.startswith(prefix):
            continue
        rest = n[len(prefix) :]
        m = _NUMBERED.match(rest)
        key = m.group(1) if m else rest.split(".")[0]
        if key not in seen:
            seen[key] = len(seen) + 1
        out[n] = seen[key]
    return out


def build_param_groups(
    module: nn.Module,
    lr: float,
    weight_decay: float | None = None,
    lr_overrides: Mapping[str, float] | None = None,
    layer_decay: float | None = None,
    encoder_prefix: str = "model.encoder.",
) -> list[dict[str, Any]]:
    """Trainable parameters split into groups with their own ``lr``.

    * ``lr_overrides``: ``{substring: lr}``; the first substring found in a parameter's name sets its lr.
    * ``layer_decay``: encoder depth ``i`` of ``L`` gets ``lr * layer_decay ** (L + 1 - i)``;
      everything outside the encoder keeps ``lr``.
    """
    params = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
    if not params:
        raise ConfigError("the task has no trainable parameters (everything is frozen)", key="training_mode")
    overrides = dict(lr_overrides or {})
    unused = [k for k in overrides if not any(k in n for n, _ in params)]
    if unused:
        raise ConfigError(f"lr_overrides key(s) {unused} match no trainable parameter name", key="lr_overrides")
    depth = layer_ids([n for n, _ in params], encoder_prefix) if layer_decay is not None else {}
    num_layers = max(depth.values(), default=0)
    groups: dict[float, list[nn.Parameter]] = {}
    names: dict[float, list[str]] = {}
    for n, p in params:
        p_lr = next((v for k, v in overrides.items() if k in n), None)
        if p_lr is None:
            p_lr = lr
            if n in depth and layer_decay is not None:
                p_lr = lr * layer_decay ** (num_layers + 1 - depth[n])
        groups.setdefault(p_lr, []).append(p)
        names.setdefault(p_lr, []).append(n)
    out = []
    for g_lr, ps in groups.items():
        g: dict[str, Any] = {"params": ps, "lr": g_lr, "geo_names": names[g_lr]}
        if weight_decay is not None:
            g["weight_decay"] = weight_decay
        out.append(g)
    return out


def build_optimizer(name: str, groups: list[dict[str, Any]], lr: float, hparams: Mapping[str, Any] | None) -> Any:
    """``torch.optim.<name>(groups, lr=lr, **hparams)``."""
    cls = _lookup(torch.optim, name, "optimizer", "optimizer")
    try:
        return cls(groups, lr=lr, **dict(hparams or {}))
    except TypeError as exc:
        raise ConfigError(f"optimizer_hparams do not fit {name}: {exc}", key="optimizer_hparams") from exc


def build_scheduler(name: str, optimizer: Any, hparams: Mapping[str, Any] | None, monitor: str) -> dict[str, Any]:
    """Lightning's ``lr_scheduler`` dict for ``torch.optim.lr_scheduler.<name>``.

    ``hparams`` may carry Lightning's ``interval`` (``epoch`` or ``step``), ``frequency`` and ``monitor``.
    """
    hp = dict(hparams or {})
    conf = {k: hp.pop(k) for k in ("interval", "frequency", "monitor") if k in hp}
    cls = _lookup(torch.optim.lr_scheduler, name, "scheduler", "scheduler")
    try:
        sched = cls(optimizer, **hp)
    except TypeError as exc:
        raise ConfigError(f"scheduler_hparams do not fit {name}: {exc}", key="scheduler_hparams") from exc
    return {
        "scheduler": sched,
        "interval": conf.get("interval", "epoch"),
        "frequency": conf.get("frequency", 1),
        "monitor": conf.get("monitor", monitor),
    }


def warmup_factor(step: int, warmup_steps: int, start_factor: float) -> float:
    """Linear warmup multiplier for optimiser step ``step`` (1.0 once warm)."""
    if warmup_steps <= 0 or step >= warmup_steps:
        return 1.0
    return start_factor + (1.0 - start_factor) * step / warmup_steps
