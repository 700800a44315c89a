"""Zoobot 2.0 argument names accepted as deprecated aliases of the 2.9 names."""

from __future__ import annotations

import warnings
from typing import Any

from geo_core import ConfigError

__all__ = ["ZoobotDeprecationWarning", "RENAMED", "SCHEDULER_KEYS", "resolve_deprecated"]


class ZoobotDeprecationWarning(FutureWarning):
    """A Zoobot 2.0 argument name was used; it still works for this release."""


#: 2.0 name -> 2.9 name (same meaning, same value).
RENAMED: dict[str, str] = {
    "lr_decay": "layer_decay",
    "dropout_prob": "head_dropout_prob",
}

#: 2.0 top-level scheduler arguments, now keys of ``scheduler_kwargs``.
SCHEDULER_KEYS = ("cosine_schedule", "warmup_epochs", "max_cosine_epochs", "max_learning_rate_reduction_factor")

#: 2.0 arguments with no effect any more (accepted so old checkpoints and scripts still load).
IGNORED = ("always_train_batchnorm", "n_layers")


def resolve_deprecated(kwargs: dict[str, Any], new: dict[str, Any], owner: str) -> dict[str, Any]:
    """Fold 2.0 names in ``kwargs`` into the 2.9 arguments ``new``; warn once per call.

    Args:
        kwargs: The extra keyword arguments the constructor received (consumed).
        new: The 2.9 arguments as passed (``None`` where not given); an updated copy is returned.
        owner: Class name for messages.

    Returns:
        ``new`` with aliases applied. ``n_blocks`` and ``from_scratch`` are returned under
        their own names for the caller to interpret.

    Raises:
        ConfigError: A 2.0 and a 2.9 name for the same thing were both given with different
            values, or an unknown argument remains.
    """
    out = dict(new)
    used: list[str] = []
    for old, target in RENAMED.items():
        if old in kwargs:
            value = kwargs.pop(old)
            used.append(f"{old} -> {target}")
            if out.get(target) is not None and out[target] != value:
                raise ConfigError(
                    f"{owner}: both {old}={value!r} (deprecated) and {target}={out[target]!r} given; "
                    f"pass only {target}",
                    key=target,
                )
            out[target] = value
    sched = dict(out.get("scheduler_kwargs") or {})
    for key in SCHEDULER_KEYS:
        if key in kwargs:
            sched[key] = kwargs.pop(key)
            used.append(f"{key} -> scheduler_kwargs[{key!r}]")
    out["scheduler_kwargs"] = sched
    if "n_blocks" in kwargs:
        out["n_blocks"] = kwargs.pop("n_blocks")
        used.append("n_blocks -> training_mode/layer_decay (n_blocks still honoured: the top n blocks are trained)")
    if "from_scratch" in kwargs:
        out["from_scratch"] = bool(kwargs.pop("from_scratch"))
        used.append("from_scratch -> training_mode='full', layer_decay=1.0")
    for key in IGNORED:
        if key in kwargs:
            kwargs.pop(key)
            used.append(f"{key} (no effect, ignored)")
    if kwargs:
        raise TypeError(f"{owner}.__init__() got unexpected keyword argument(s) {sorted(kwargs)}")
    if used:
        warnings.warn(
            f"{owner}: Zoobot 2.0 argument name(s) are deprecated and will be removed in a future release: "
            + "; ".join(used),
            ZoobotDeprecationWarning,
            stacklevel=4,
        )
    return out
