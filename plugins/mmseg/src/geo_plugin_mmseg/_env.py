"""Torch-free facts about the installed OpenMMLab stack.

Imported by the hook module while ``geo plugins list`` runs, so it must not import
torch, mmcv, mmengine or mmseg: it reads distribution metadata and looks for files.
"""

from __future__ import annotations

import importlib.metadata as md
import importlib.util
from pathlib import Path

__all__ = [
    "INSTALL",
    "MMCV_SPEC",
    "COMPILED_MMCV_INSTALL",
    "LITE_HEADS",
    "COMPILED_HEADS",
    "compiled_mmcv_available",
    "mmcv_problem",
]

#: The exact install line of the stack this plugin is tested with (also in geo-plugin.toml).
INSTALL = 'pip install "mmsegmentation==1.2.2" "mmcv-lite==2.1.0" "mmengine>=0.10,<0.11" ftfy regex'

#: What mmsegmentation 1.2.2 asserts about mmcv at import (it does not declare it).
MMCV_SPEC = ">=2.0.0rc4,<2.2.0"

#: How to replace mmcv-lite by mmcv with compiled ops (see the README for the details).
COMPILED_MMCV_INSTALL = (
    'pip uninstall -y mmcv-lite && pip install "setuptools<70" && '
    'pip install --no-build-isolation "mmcv==2.1.0"  '
    "(a ~20-minute C++ build; `mim install mmcv==2.1.0` instead where OpenMMLab publishes a "
    "prebuilt wheel for your torch/CUDA; see the geo-plugin-mmseg README)"
)

#: Heads that build and run on mmcv-lite (pure PyTorch), in the order of the README.
LITE_HEADS = (
    "FCNHead",
    "UPerHead",
    "ASPPHead",
    "DepthwiseSeparableASPPHead",
    "PSPHead",
    "SegformerHead",
    "FPNHead",
    "SegmenterMaskTransformerHead",
    "DAHead",
    "NLHead",
    "ISAHead",
    "EncHead",
    "SETRUPHead",
    "SETRMLAHead",
    "DPTHead",
)

#: Heads whose mmseg implementation calls a compiled ``mmcv.ops`` kernel.
COMPILED_HEADS = ("CCHead", "PSAHead")


def compiled_mmcv_available() -> bool:
    """Return whether the installed ``mmcv`` has its compiled extension ``mmcv._ext``.

    Looks for the extension file next to the package without importing ``mmcv``.
    """
    spec = importlib.util.find_spec("mmcv")  # a top-level name: finds, does not import
    if spec is None or not spec.submodule_search_locations:
        return False
    return any(any(Path(loc).glob("_ext.*")) for loc in spec.submodule_search_locations)


def mmcv_problem() -> str | None:
    """Return why the installed mmcv cannot serve mmsegmentation 1.2.2, or None when it can.

    ``mmcv`` is provided by either distribution ``mmcv`` (compiled) or ``mmcv-lite``, which a
    single ``requires`` line of the manifest cannot express; the hook module checks it instead.
    """
    from packaging.specifiers import SpecifierSet  # torch-free; a geo-core dependency

    found: dict[str, str] = {}
    for dist in ("mmcv", "mmcv-lite"):
        try:
            found[dist] = md.version(dist)
        except md.PackageNotFoundError:
            continue
    if not found:
        return "mmcv is not installed (neither mmcv-lite nor mmcv)"
    spec = SpecifierSet(MMCV_SPEC, prereleases=True)
    if any(spec.contains(v) for v in found.values()):
        return None
    have = ", ".join(f"{d} {v}" for d, v in found.items())
    return f"{have} is installed but mmsegmentation 1.2.2 needs mmcv{MMCV_SPEC}"
