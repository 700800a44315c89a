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
    from geo_plugin_timm._index import load_index

    return [
        DoctorCheck.index_matches(
            "timm",
            load_index()["timm_version"],
            "pip install 'timm>=1.0.15,<1.1'",
            "python -m geo_plugin_timm._generate_index",
        )
    ]
