"""Hook implementations of geo-plugin-mmseg (torch-free; imported by ``geo plugins list``).

Importing this module raises :class:`ImportError` when the installed mmcv cannot serve
mmsegmentation 1.2.2, so geo reports the plugin as broken, with the install line, instead
of failing later inside ``import mmseg`` (which only asserts).
"""

from __future__ import annotations

from geo_core import DoctorCheck, hookimpl

from geo_plugin_mmseg._env import COMPILED_HEADS, COMPILED_MMCV_INSTALL, INSTALL, compiled_mmcv_available, mmcv_problem

__all__ = ["GEO_HOOKSPEC_VERSION", "geo_doctor"]

GEO_HOOKSPEC_VERSION = 1

_PROBLEM = mmcv_problem()
if _PROBLEM is not None:
    raise ImportError(f"{_PROBLEM}; install with: {INSTALL}")


@hookimpl
def geo_doctor() -> list[DoctorCheck]:
    """Report which mmcv flavour is installed and which heads it serves."""
    if compiled_mmcv_available():
        return [DoctorCheck("mmcv-ops", ok=True, detail="compiled mmcv: every mmseg head is available")]
    detail = (
        f"mmcv-lite (no compiled ops): {', '.join(COMPILED_HEADS)} unavailable; "
        f"for them install compiled mmcv: {COMPILED_MMCV_INSTALL}"
    )
    return [DoctorCheck("mmcv-ops", ok=True, detail=detail)]
