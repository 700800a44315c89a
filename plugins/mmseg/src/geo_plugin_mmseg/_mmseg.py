"""Importing mmsegmentation and building its heads, with its noise scoped.

mmseg registers its modules at import and emits warnings there and while building a
head. Each filter below names the exact message, says why it is safe, and is active
only around the mmseg call that emits it (``warnings.catch_warnings``), never globally.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import warnings
from collections.abc import Iterator, Mapping
from typing import Any

from geo_core import MissingDependencyError

from geo_plugin_mmseg import _mmcv_ops
from geo_plugin_mmseg._env import INSTALL, mmcv_problem

__all__ = ["mmseg_models", "build_head", "head_class", "quiet_init_weights"]

log = logging.getLogger("geo_plugin_mmseg")


def mmseg_models() -> Any:
    """Import ``mmseg.models`` (with the ``mmcv.ops`` stand-in on mmcv-lite); return mmseg's MODELS registry.

    Raises:
        MissingDependencyError: mmseg, mmcv, mmengine, ftfy or regex is missing or incompatible
            (the message names the install line; the original error is chained).
    """
    if "mmseg.registry" in sys.modules and "mmseg.models" in sys.modules:  # imported (and checked) before
        return sys.modules["mmseg.registry"].MODELS
    problem = mmcv_problem()
    if problem is not None:
        raise MissingDependencyError("a compatible mmcv", INSTALL, f"mmseg decode heads: {problem}")
    stand_in = _mmcv_ops.install()
    try:
        with warnings.catch_warnings():
            # mmcv's transformer bricks try `mmcv.ops.multi_scale_deform_attn` and warn once that
            # mmcv-lite lacks it; no head served on mmcv-lite uses MultiScaleDeformableAttention.
            warnings.filterwarnings(
                "ignore", message=r"Fail to import ``MultiScaleDeformableAttention``", category=UserWarning
            )
            import mmseg.models  # noqa: F401  (registers every head in mmseg.registry.MODELS)
            from mmseg.registry import MODELS
    except (ImportError, AssertionError) as exc:  # mmseg asserts mmcv/mmengine versions at import
        raise MissingDependencyError(
            "a compatible mmsegmentation stack", INSTALL, f"mmseg decode heads ({type(exc).__name__}: {exc})"
        ) from exc
    log.debug("mmseg imported (mmcv.ops stand-in: %s)", stand_in)
    return MODELS


@contextlib.contextmanager
def _quiet_mmengine_logger() -> Iterator[None]:
    """Raise mmengine's logger to WARNING for the duration (init_weights logs every parameter at INFO)."""
    from mmengine.logging import MMLogger

    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def build_head(cfg: Mapping[str, Any]) -> Any:
    """Build an mmseg decode head from a config dict (``type`` included)."""
    registry = mmseg_models()
    with warnings.catch_warnings():
        # Only with a loss config (EncHead's SE loss): mmseg's own `build_loss` announces its
        # deprecation, and its CrossEntropyLoss recommends `avg_non_ignore`. geo never calls
        # mmseg losses (the task computes the loss), so both are irrelevant here.
        warnings.filterwarnings("ignore", message=r"``build_loss`` would be deprecated", category=UserWarning)
        warnings.filterwarnings("ignore", message=r"Default ``avg_non_ignore`` is False", category=UserWarning)
        return registry.build(dict(cfg))


def head_class(name: str) -> type:
    """Return mmseg's class registered as ``name``."""
    cls = mmseg_models().get(name)
    if cls is None:  # pragma: no cover - every served head is registered by mmseg 1.2.2
        raise KeyError(f"mmseg has no head {name!r}")
    return cls  # type: ignore[no-any-return]


def quiet_init_weights(module: Any) -> None:
    """Run mmengine's ``init_weights`` (applies the head's ``init_cfg``) without its per-parameter log."""
    with _quiet_mmengine_logger():
        module.init_weights()
