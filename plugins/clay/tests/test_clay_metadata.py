"""Manifest, registration and torch-free listing."""

from __future__ import annotations

import subprocess
import sys

import geo_core
import pytest
from geo_core.testing import check_plugin_metadata

VARIANTS = ["clay_test", "clay_v1_base", "clay_v15_tiny", "clay_v15_small", "clay_v15_base", "clay_v15_large"]


def test_plugin_metadata_is_consistent_and_torch_free() -> None:
    found = check_plugin_metadata("clay")
    assert sorted(found["backbone"]) == sorted(f"clay:{v}" for v in VARIANTS)


@pytest.mark.parametrize("variant", VARIANTS)
def test_metadata_fields(variant: str) -> None:
    meta = geo_core.BACKBONES.info(f"clay:{variant}").metadata
    assert len(meta["bands"]) == len(meta["wavelengths"]) > 0
    assert meta["out_channels"] == [meta["embed_dim"]] * meta["depth"]
    assert meta["output"] == "tokens" and meta["prefix_tokens"] == 1
    assert max(meta["out_indices"]) == meta["depth"] - 1
    assert meta["licence"] and meta["metadata_inputs"] == ["time", "latlon", "gsd", "waves"]


def test_released_weights_are_declared_for_the_weights_layer() -> None:
    assert geo_core.BACKBONES.info("clay:clay_v1_base").metadata["weights"] == {
        "hf_repo": "made-with-clay/Clay-legacy",
        "filename": "v1/clay-v1-base.ckpt",
    }
    assert geo_core.BACKBONES.info("clay:clay_v15_large").metadata["weights"] == {
        "hf_repo": "made-with-clay/Clay",
        "filename": "v1.5/clay-v1.5.ckpt",
    }
    assert "weights" not in geo_core.BACKBONES.info("clay:clay_v15_base").metadata


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_variant_builds_with_its_manifest_sizes(variant: str) -> None:
    import torch

    meta = geo_core.BACKBONES.info(variant).metadata
    model = geo_core.BACKBONES.build(f"clay:{variant}", depth=1)
    assert model.embed_dim == meta["embed_dim"] and model.patch_size == meta["patch_size"] == 8
    assert model.transformer.layers[0][0].heads == meta["num_heads"]
    assert model.transformer.layers[0][0].to_qkv.out_features == 3 * meta["num_heads"] * meta["dim_head"]
    assert model.gsd == meta["gsd"] and model.bands == meta["bands"]
    with torch.no_grad():
        (out,) = model(torch.zeros(1, 6, 16, 24))
    assert out.shape == (1, 1 + 6, meta["embed_dim"])


def test_unknown_argument_is_a_type_error_naming_it() -> None:
    with pytest.raises(TypeError, match="bandz"):
        geo_core.BACKBONES.build("clay:clay_test", bandz=["red"])


def test_exported_members_resolve_and_importing_the_package_stays_torch_free() -> None:
    import geo_plugin_clay

    for name in geo_plugin_clay.__all__:
        assert getattr(geo_plugin_clay, name) is not None, name
    code = "import sys, geo_plugin_clay; geo_plugin_clay.resolve_wavelengths; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
