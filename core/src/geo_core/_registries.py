"""The eight process-wide registries."""

from __future__ import annotations

from geo_core._registry import Registry

__all__ = [
    "BACKBONES",
    "DECODERS",
    "NECKS",
    "MODELS",
    "MODEL_FACTORIES",
    "TASKS",
    "DATAMODULES",
    "LOSSES",
    "REGISTRIES",
    "set_priority",
]

BACKBONES = Registry("backbone")
DECODERS = Registry("decoder")
NECKS = Registry("neck")
MODELS = Registry("model")
MODEL_FACTORIES = Registry("model_factory")
TASKS = Registry("task")
DATAMODULES = Registry("datamodule")
LOSSES = Registry("loss")

#: kind -> registry
REGISTRIES: dict[str, Registry] = {
    r.kind: r for r in (BACKBONES, DECODERS, NECKS, MODELS, MODEL_FACTORIES, TASKS, DATAMODULES, LOSSES)
}


def set_priority(order: list[str] | None) -> None:
    """Set the source order for plain names in every registry (None restores the default).

    Example:
        >>> import geo_core
        >>> geo_core.set_priority(["smp", "timm"])
        >>> geo_core.set_priority(None)
    """
    for r in REGISTRIES.values():
        r.set_priority(None if order is None else [*order, *[s for s in ("local", "core") if s not in order]])
