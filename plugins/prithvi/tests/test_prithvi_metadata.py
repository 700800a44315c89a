"""Manifest, registration and torch-free listing."""

from __future__ import annotations

import tomllib
from importlib import resources

import geo_core
import pytest
from geo_core.testing import check_plugin_metadata

VARIANTS = [
    "prithvi_eo_tiny",
    "prithvi_eo_v1_100",
    "prithvi_eo_v2_tiny_tl",
    "prithvi_eo_v2_100_tl",
    "prithvi_eo_v2_300",
    "prithvi_eo_v2_300_tl",
    "prithvi_eo_v2_600",
    "prithvi_eo_v2_600_tl",
]
HLS6 = ["BLUE", "GREEN", "RED", "NIR_NARROW", "SWIR_1", "SWIR_2"]


def _manifest() -> dict:
    return tomllib.loads(resources.files("geo_plugin_prithvi").joinpath("geo-plugin.toml").read_text())


SWIN = ["test_prithvi_swin", "prithvi_swin_B", "prithvi_swin_L"]


def test_plugin_metadata_is_consistent_and_torch_free() -> None:
    found = check_plugin_metadata("prithvi")
    assert sorted(found["backbone"]) == sorted(f"prithvi:{v}" for v in VARIANTS + SWIN)
    assert sorted(found["model"]) == sorted(f"prithvi:{v}_mae" for v in VARIANTS)


@pytest.mark.parametrize("variant", SWIN)
def test_swin_metadata(variant: str) -> None:
    meta = geo_core.BACKBONES.info(f"prithvi:{variant}").metadata
    assert meta["bands"] == HLS6 and meta["output"] == "image" and meta["licence"] == "Apache-2.0"
    assert meta["out_channels"] == [meta["embed_dim"] * 2**i for i in range(4)]
    assert len(meta["depths"]) == len(meta["num_heads"]) == 4
    if variant != "test_prithvi_swin":
        assert meta["depths"] == [2, 2, 18, 2] and meta["window_size"] == 7 and meta["patch_size"] == 4


@pytest.mark.parametrize("variant", VARIANTS)
def test_metadata_fields(variant: str) -> None:
    meta = geo_core.BACKBONES.info(f"prithvi:{variant}").metadata
    assert meta["bands"] == HLS6
    assert len(meta["mean"]) == len(meta["std"]) == 6
    assert meta["patch_size"][0] == meta["tubelet_size"] == 1
    assert len(meta["out_indices"]) == 4 and max(meta["out_indices"]) == meta["depth"] - 1
    assert meta["out_channels"] == [meta["embed_dim"]] * meta["depth"]
    if variant != "prithvi_eo_tiny":
        assert meta["weights"]["hf_repo"].startswith("ibm-nasa-geospatial/Prithvi-EO-")
        assert meta["weights"]["filename"].endswith(".pt")
        from geo_core.weights import WeightRef

        assert WeightRef.from_mapping(meta["weights"]).kind == "hf"
    else:
        assert "weights" not in meta
    assert ("_tl" in variant) == (meta["coords_encoding"] == ["time", "location"])
    mae = geo_core.MODELS.info(f"prithvi:{variant}_mae").metadata
    assert mae["encoder"] == variant and mae["decoder_depth"] >= 1


def test_released_file_names() -> None:
    m = _manifest()["backbone"]
    assert m["prithvi_eo_v1_100"]["weights"] == {
        "hf_repo": "ibm-nasa-geospatial/Prithvi-EO-1.0-100M",
        "filename": "Prithvi_EO_V1_100M.pt",
    }
    assert m["prithvi_eo_v2_300_tl"]["weights"]["filename"] == "Prithvi_EO_V2_300M_TL.pt"
    assert m["prithvi_eo_v2_600"]["patch_size"] == [1, 14, 14]


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_variant_builds_with_its_manifest_sizes(variant: str) -> None:
    import torch

    meta = geo_core.BACKBONES.info(variant).metadata
    model = geo_core.BACKBONES.build(f"prithvi:{variant}", depth=1)
    assert model.embed_dim == meta["embed_dim"]
    assert model.patch_size == tuple(meta["patch_size"])
    assert model.blocks[0].attn.num_heads == meta["num_heads"]
    assert model.temporal_encoding == ("time" in meta["coords_encoding"])
    p = meta["patch_size"][1]
    with torch.no_grad():
        (out,) = model(torch.zeros(1, 6, 2 * p, 3 * p))
    assert out.shape == (1, 1 + 6, meta["embed_dim"])


def test_unknown_argument_is_a_type_error_naming_it() -> None:
    with pytest.raises(TypeError, match="bandz"):
        geo_core.BACKBONES.build("prithvi:prithvi_eo_tiny", bandz=["RED"])


def test_doctor_reports_local_weight_files(tmp_path) -> None:
    from geo_plugin_prithvi._hooks import geo_doctor

    (tmp_path / "weights").mkdir()
    (tmp_path / "weights" / "Prithvi_EO_V2_300M.pt").write_bytes(b"")
    (check,) = geo_doctor()
    assert check.ok and "1 of 7 released weight files found" in check.detail
    assert "prithvi_eo_v2_300=" in check.detail and str(tmp_path / "weights") in check.detail


def test_exported_members_resolve_and_importing_the_package_stays_torch_free() -> None:
    import subprocess
    import sys

    import geo_plugin_prithvi

    for name in geo_plugin_prithvi.__all__:
        assert getattr(geo_plugin_prithvi, name) is not None, name
    code = "import sys, geo_plugin_prithvi, geo_plugin_prithvi._hooks; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
