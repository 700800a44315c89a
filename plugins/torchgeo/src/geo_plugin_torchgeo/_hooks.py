"""pluggy hooks: torchgeo weights as backbones and non-geo datamodules, from the shipped index.

Torch-free and torchgeo-free.
"""

from __future__ import annotations

from geo_core import ComponentSource, DoctorCheck, hookimpl

from geo_plugin_torchgeo._index import (
    datamodule_metadata,
    datamodule_names,
    model_metadata,
    model_names,
    weight_metadata,
    weight_names,
)

__all__ = ["GEO_HOOKSPEC_VERSION", "geo_component_sources", "geo_doctor"]

GEO_HOOKSPEC_VERSION = 1


@hookimpl
def geo_component_sources() -> list[ComponentSource]:
    """The torchgeo backbone and datamodule catalogues."""
    return [
        ComponentSource(
            kind="backbone",
            source="torchgeo",
            names=weight_names,
            builder="geo_plugin_torchgeo._backbone:build_backbone",
            metadata=weight_metadata,
            summary="torchgeo pretrained weights (SSL4EO, SatlasPretrain, ...) as feature backbones",
        ),
        ComponentSource(
            kind="model",
            source="torchgeo",
            names=model_names,
            builder="geo_plugin_torchgeo._models:build_model",
            metadata=model_metadata,
            summary="torchgeo whole-model weights (U-Nets); use with FullModelFactory",
        ),
        ComponentSource(
            kind="datamodule",
            source="torchgeo",
            names=datamodule_names,
            builder="geo_plugin_torchgeo._datamodules:build_datamodule",
            metadata=datamodule_metadata,
            summary="torchgeo's non-geo datamodules (root=..., download=False)",
        ),
    ]


@hookimpl
def geo_doctor() -> list[DoctorCheck]:
    """Check that the shipped index was generated for the installed torchgeo."""
    from geo_plugin_torchgeo._index import load_index

    return [
        DoctorCheck.index_matches(
            "torchgeo",
            load_index()["torchgeo_version"],
            "pip install torchgeo==0.8.1",
            "python -m geo_plugin_torchgeo._generate_index",
        )
    ]
