"""geo-plugin-mmseg: OpenMMLab (mmsegmentation) decode heads as geo decoders.

The heads are registered as ``mmseg:<HeadName>`` decoders (``mmseg:UPerHead``, ...) and
run on mmcv-lite, which installs with plain pip, through a small ``mmcv.ops`` stand-in.
Importing this package imports neither torch nor mmseg; the names below load on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from geo_plugin_mmseg._env import COMPILED_HEADS, LITE_HEADS, compiled_mmcv_available

if TYPE_CHECKING:
    from geo_plugin_mmseg._checkpoint import load_mmseg_checkpoint, read_state_dict
    from geo_plugin_mmseg._decoder import MMSegDecoder
    from geo_plugin_mmseg._mmcv_ops import CompiledOpsRequiredError

_LAZY = {
    "MMSegDecoder": "geo_plugin_mmseg._decoder",
    "load_mmseg_checkpoint": "geo_plugin_mmseg._checkpoint",
    "read_state_dict": "geo_plugin_mmseg._checkpoint",
    "CompiledOpsRequiredError": "geo_plugin_mmseg._mmcv_ops",
}

__all__ = [
    "MMSegDecoder",
    "load_mmseg_checkpoint",
    "read_state_dict",
    "CompiledOpsRequiredError",
    "compiled_mmcv_available",
    "LITE_HEADS",
    "COMPILED_HEADS",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'geo_plugin_mmseg' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
