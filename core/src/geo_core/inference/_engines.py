"""The engine seam of streaming prediction: what runs a window batch through the model.

An engine is a factory ``(task, kind, options, sample_shape) -> runner``: the runner is a context
manager (entered once per scene) and a callable ``batch (B, C, crop, crop) -> converted output``
(what ``task.convert(logits, kind)`` returns, as float). Reading, batching, blending and writing
stay in :mod:`geo_core.inference._stream`, identical for every engine.

``torch`` (eager PyTorch, channels-last on CPU; :class:`~geo_core.inference._runner.WindowRunner`)
is built in; other engines register under the entry-point group ``geo.engines``
(``onnxruntime``: the task exported with ``geo export``'s exporter, run by ONNX Runtime).
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any

from geo_core._errors import ConfigError

__all__ = ["ENGINE_GROUP", "engine_names", "open_engine"]

ENGINE_GROUP = "geo.engines"
EngineFactory = Callable[[Any, str, Any, tuple[int, ...]], Any]


def _torch_engine(task: Any, kind: str, options: Any, sample_shape: tuple[int, ...]) -> Any:
    from geo_core.inference._runner import WindowRunner

    return WindowRunner(task, kind, options.channels_last)


def _registered() -> dict[str, Any]:
    return {ep.name: ep for ep in entry_points(group=ENGINE_GROUP)}


def engine_names() -> list[str]:
    """``torch`` and every engine registered under ``geo.engines``."""
    return ["torch", *sorted(n for n in _registered() if n != "torch")]


def open_engine(name: str, task: Any, kind: str, options: Any, sample_shape: tuple[int, ...]) -> Any:
    """The runner of engine ``name`` for one scene (use it as a context manager).

    Raises:
        ConfigError: No engine has that name (lists the valid ones and the closest).
    """
    if name == "torch":
        return _torch_engine(task, kind, options, sample_shape)
    eps = _registered()
    if name not in eps:
        from geo_core.models._routing import suggest

        close = suggest(name, engine_names())
        raise ConfigError(
            f"unknown prediction engine {name!r}"
            + (f"; did you mean {close!r}?" if close else "")
            + f" Valid: {', '.join(engine_names())}",
            key="predict.engine",
        )
    factory: EngineFactory = eps[name].load()
    return factory(task, kind, options, sample_shape)
