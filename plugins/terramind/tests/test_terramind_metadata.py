"""Manifest, registration and torch-free listing."""

from __future__ import annotations

import geo_core
import pytest
from geo_core.testing import check_plugin_metadata

VARIANTS = ["test_terramind_v1", "terramind_v1_tiny", "terramind_v1_small", "terramind_v1_base", "terramind_v1_large"]
SIZES = {
    "terramind_v1_tiny": (192, 12),
    "terramind_v1_small": (384, 12),
    "terramind_v1_base": (768, 12),
    "terramind_v1_large": (1024, 24),
}


def test_plugin_metadata_is_consistent_and_torch_free() -> None:
    found = check_plugin_metadata("terramind")
    assert sorted(found["backbone"]) == sorted(f"terramind:{v}" for v in VARIANTS)


@pytest.mark.parametrize("variant", VARIANTS)
def test_metadata_fields(variant: str) -> None:
    meta = geo_core.BACKBONES.info(f"terramind:{variant}").metadata
    assert meta["modalities"] == ["S2L2A", "S2L1C", "S1GRD", "S1RTC", "DEM", "RGB", "NDVI", "LULC"]
    assert meta["bands"]["S1GRD"] == ["VV", "VH"] and len(meta["bands"]["S2L2A"]) == 12
    assert all(len(meta["mean"][m]) == len(meta["std"][m]) == len(b) for m, b in meta["bands"].items())
    assert meta["out_channels"] == [meta["dim"]] * meta["depth"]
    assert meta["output"] == "tokens" and meta["prefix_tokens"] == 0 and meta["licence"] == "Apache-2.0"
    if variant in SIZES:
        assert (meta["dim"], meta["depth"]) == SIZES[variant]
        size = variant.rsplit("_", 1)[1]
        assert meta["weights"] == {
            "hf_repo": f"ibm-esa-geospatial/TerraMind-1.0-{size}",
            "filename": f"TerraMind_v1_{size}.pt",
        }
    else:
        assert "weights" not in meta


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_variant_builds_with_its_manifest_sizes(variant: str) -> None:
    meta = geo_core.BACKBONES.info(variant).metadata
    model = geo_core.BACKBONES.build(f"terramind:{variant}", depth=1, modalities=["S1GRD"])
    assert model.dim == meta["dim"] and len(model.encoder) == 1
    assert model.encoder[0].mlp.fc3 is not None if meta["gated_mlp"] else model.encoder[0].mlp.fc3 is None
    assert (model.encoder[0].attn.qkv.bias is not None) == meta["bias"]
