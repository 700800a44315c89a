"""pluggy hooks of geo-plugin-prithvi (torch-free): ``geo plugins doctor`` reports cached weight files."""

from __future__ import annotations

from geo_core import DoctorCheck, hookimpl

from geo_plugin_prithvi._manifest import backbone_config, variant_names
from geo_plugin_prithvi._weights import local_weights

__all__ = ["GEO_HOOKSPEC_VERSION", "geo_doctor"]

GEO_HOOKSPEC_VERSION = 1


@hookimpl
def geo_doctor() -> list[DoctorCheck]:
    """Which released weight files are available locally (a missing file is not a failure)."""
    found, missing = [], []
    for variant in variant_names():
        cfg = backbone_config(variant)
        table = cfg.get("weights") or {}
        repo, filename = table.get("hf_repo", ""), table.get("filename", "")
        if not filename:
            continue
        path = local_weights(repo, filename)
        if path is not None:
            found.append(f"{variant}={path}")
        else:
            missing.append(variant)
    detail = f"{len(found)} of {len(found) + len(missing)} released weight files found"
    if found:
        detail += ": " + ", ".join(found)
    if missing:
        detail += f"; pretrained=True fetches the others (`geo weights download {' '.join(missing)}` pre-fetches)"
    return [DoctorCheck("prithvi weights", ok=True, detail=detail)]
