"""pluggy hooks of geo-plugin-prithvi (torch-free): ``geo plugins doctor`` reports local weight files."""

from __future__ import annotations

from geo_core import CheckpointError, DoctorCheck, hookimpl

from geo_plugin_prithvi._manifest import backbone_config, variant_names
from geo_plugin_prithvi._weights import WEIGHTS_ENV, find_weights, weights_dir

__all__ = ["GEO_HOOKSPEC_VERSION", "geo_doctor"]

GEO_HOOKSPEC_VERSION = 1


@hookimpl
def geo_doctor() -> list[DoctorCheck]:
    """Which released weight files are available locally (a missing file is not a failure)."""
    found, missing = [], []
    for variant in variant_names():
        cfg = backbone_config(variant)
        repo, filename = cfg.get("weights_repo", ""), cfg.get("weights_file", "")
        if not filename:
            continue
        try:
            found.append(f"{variant}={find_weights(variant, repo, filename)}")
        except CheckpointError:
            missing.append(f"{repo}/{filename}")
    detail = f"{len(found)} of {len(found) + len(missing)} released weight files found"
    if found:
        detail += ": " + ", ".join(found)
    if missing:
        detail += f"; download others into {weights_dir()} (${WEIGHTS_ENV}) for pretrained=True"
    return [DoctorCheck("prithvi weights", ok=True, detail=detail)]
