"""pluggy hooks of geo-plugin-smp (torch-free: imported to list components)."""

from __future__ import annotations

from geo_core import ComponentSource, DoctorCheck, hookimpl

from geo_plugin_smp._index import accepts_encoder, encoder_metadata, encoder_names

__all__ = ["GEO_HOOKSPEC_VERSION", "geo_component_sources", "geo_doctor"]

GEO_HOOKSPEC_VERSION = 1


@hookimpl
def geo_component_sources() -> list[ComponentSource]:
    """Every smp encoder as backbone ``smp:<name>``; ``smp:tu-<timm name>`` is accepted when built."""
    return [
        ComponentSource(
            kind="backbone",
            source="smp",
            names=encoder_names,
            builder="geo_plugin_smp._backbones:build_backbone",
            metadata=encoder_metadata,
            accepts=accepts_encoder,
            summary="segmentation_models.pytorch encoders (and tu-<timm model>)",
        )
    ]


@hookimpl
def geo_doctor() -> list[DoctorCheck]:
    """Check that the installed smp matches the shipped encoder index."""
    import importlib.metadata as md

    from geo_plugin_smp._index import load_index

    try:
        installed = md.version("segmentation-models-pytorch")
    except md.PackageNotFoundError:
        return [DoctorCheck("smp installed", False, "pip install geo-plugin-smp")]
    indexed = load_index()["smp_version"]
    ok = installed.split(".")[:2] == str(indexed).split(".")[:2]
    detail = f"installed {installed}, encoder index built from {indexed}"
    return [DoctorCheck("smp encoder index", ok, detail if ok else detail + "; run python -m geo_plugin_smp._index")]
