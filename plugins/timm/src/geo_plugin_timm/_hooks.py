"""pluggy hooks: every timm model with ``features_only`` support as ``timm:<name>``.

Torch-free and timm-free: names and metadata come from the shipped ``_index.json``.
"""

from __future__ import annotations

from geo_core import ComponentSource, DoctorCheck, hookimpl

from geo_plugin_timm._index import index_names, is_listed, model_metadata

__all__ = ["GEO_HOOKSPEC_VERSION", "geo_component_sources", "geo_doctor"]

GEO_HOOKSPEC_VERSION = 1


@hookimpl
def geo_component_sources() -> list[ComponentSource]:
    """The timm backbone catalogue."""
    return [
        ComponentSource(
            kind="backbone",
            source="timm",
            names=index_names,
            builder="geo_plugin_timm._backbone:build_backbone",
            metadata=model_metadata,
            accepts=is_listed,
            summary="timm models built with features_only=True (NCHW feature maps)",
        )
    ]


@hookimpl
def geo_doctor() -> list[DoctorCheck]:
    """Check that the shipped index was generated for the installed timm."""
    import importlib.metadata as md

    from geo_plugin_timm._index import load_index

    indexed = load_index()["timm_version"]
    try:
        installed = md.version("timm")
    except md.PackageNotFoundError:
        return [DoctorCheck("timm installed", ok=False, detail="pip install 'timm>=1.0.15,<1.1'")]
    ok = installed == indexed
    detail = f"index built for timm {indexed}, installed {installed}"
    if not ok:
        detail += "; regenerate with: python -m geo_plugin_timm._generate_index"
    return [DoctorCheck("timm index matches installed timm", ok=ok, detail=detail)]
