"""Loading random checkpoints written in the released layouts; band remapping; weight lookup errors."""

from __future__ import annotations

import logging
from pathlib import Path

import geo_core
import pytest
import torch
from geo_core import CheckpointError, ConfigError, WeightsOfflineError
from geo_plugin_prithvi import build_backbone, build_mae, find_weights

from .conftest import SMALL, official_keys  # type: ignore[import-not-found]

HLS6 = ["BLUE", "GREEN", "RED", "NIR_NARROW", "SWIR_1", "SWIR_2"]


def _same_encoder(backbone: torch.nn.Module, mae: torch.nn.Module, x: torch.Tensor, **kw: torch.Tensor) -> None:
    backbone.eval()
    mae.eval()
    with torch.no_grad():
        ours = backbone.forward_features(x, **kw)
        ref = mae.encoder.forward_features(x, **kw)
    for a, b in zip(ours, ref, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_our_state_dict_is_the_official_v2_layout() -> None:
    mae = build_mae("prithvi_eo_v2_tiny_tl", **SMALL)
    assert set(mae.state_dict()) == official_keys(2, 1, temporal=True, location=True)
    plain = build_mae("prithvi_eo_tiny", **SMALL)
    assert set(plain.state_dict()) == official_keys(2, 1, temporal=False, location=False)


@pytest.mark.parametrize("layout", ["v1", "v2"])
def test_backbone_loads_released_layouts(write_checkpoint, layout: str) -> None:
    variant = "prithvi_eo_v1_100" if layout == "v1" else "prithvi_eo_v2_300"
    kw = {"embed_dim": 64, "num_heads": 2}
    path, mae = write_checkpoint(variant, layout, num_frames=1, **kw)
    bb = geo_core.BACKBONES.build(f"prithvi:{variant}", ckpt_path=path, depth=2, **kw)
    _same_encoder(bb, mae, torch.randn(2, 6, 32, 32))


@pytest.mark.parametrize("layout", ["v1", "v2"])
def test_mae_loads_released_layouts(write_checkpoint, layout: str) -> None:
    path, mae = write_checkpoint("prithvi_eo_tiny", layout, num_frames=2)
    loaded = build_mae("prithvi_eo_tiny", ckpt_path=path, num_frames=2, **SMALL)
    for k, v in mae.state_dict().items():
        assert torch.equal(loaded.state_dict()[k], v), k


def test_tl_checkpoint_into_tl_model_uses_temporal_and_location_weights(write_checkpoint) -> None:
    path, mae = write_checkpoint("prithvi_eo_v2_tiny_tl", num_frames=2)
    with torch.no_grad():
        mae.encoder.temporal_embed_enc.scale.fill_(0.7)
        mae.encoder.location_embed_enc.scale.fill_(0.3)
    torch.save(mae.state_dict(), path)
    bb = build_backbone("prithvi_eo_v2_tiny_tl", ckpt_path=path, num_frames=2, depth=2)
    assert bb.temporal_embed_enc.scale.item() == pytest.approx(0.7)
    assert bb.location_embed_enc.scale.item() == pytest.approx(0.3)
    tc = torch.tensor([[[2021.0, 5.0], [2021.0, 100.0]]])
    lc = torch.tensor([[10.0, 20.0]])
    _same_encoder(bb, mae, torch.randn(1, 6, 2, 32, 32), temporal_coords=tc, location_coords=lc)


def test_tl_checkpoint_into_model_without_encodings_drops_them(write_checkpoint, caplog) -> None:
    path, mae = write_checkpoint("prithvi_eo_v2_tiny_tl")
    with caplog.at_level(logging.INFO, logger="geo_plugin_prithvi"):
        bb = build_backbone("prithvi_eo_v2_tiny_tl", ckpt_path=path, depth=2, coords_encoding=[])
    assert not hasattr(bb, "temporal_embed_enc")
    assert "temporal_embed_enc.scale dropped" in caplog.text
    _same_encoder(bb, mae, torch.randn(1, 6, 32, 32))  # without coordinates both models agree


@pytest.mark.parametrize("layout", ["v1", "v2"])
def test_checkpoint_without_encodings_into_tl_model_keeps_initial_scales(write_checkpoint, layout, caplog) -> None:
    path, _ = write_checkpoint("prithvi_eo_v2_tiny_tl", layout, coords_encoding=[])
    with caplog.at_level(logging.INFO, logger="geo_plugin_prithvi"):
        bb = build_backbone("prithvi_eo_v2_tiny_tl", ckpt_path=path, depth=2)
    assert bb.temporal_embed_enc.scale.item() == pytest.approx(0.1)
    assert "temporal_embed_enc.scale not in the checkpoint" in caplog.text
    mae = build_mae("prithvi_eo_v2_tiny_tl", ckpt_path=path, **SMALL)
    assert mae.decoder.location_embed_dec.scale.item() == pytest.approx(0.1)


def test_checkpoint_for_other_frames_and_sizes_loads(write_checkpoint) -> None:
    """pos_embed depends on frames and size; the filter replaces it by the model's own."""
    path, mae = write_checkpoint("prithvi_eo_tiny", num_frames=3)
    bb = build_backbone("prithvi_eo_tiny", ckpt_path=path, depth=2, num_frames=1, img_size=64)
    assert bb.pos_embed.shape == (1, 1 + 16, 256)
    _same_encoder(bb, mae, torch.randn(1, 6, 3, 32, 32))


def test_wrong_variant_or_depth_is_a_checkpoint_error(write_checkpoint) -> None:
    path, _ = write_checkpoint("prithvi_eo_tiny")
    with pytest.raises(CheckpointError, match="does not fit"):
        build_backbone("prithvi_eo_v2_300", ckpt_path=path, depth=2)
    with pytest.raises(CheckpointError, match="missing keys"):
        build_backbone("prithvi_eo_tiny", ckpt_path=path, depth=3)
    with pytest.raises(CheckpointError, match="unexpected keys"):
        build_backbone("prithvi_eo_tiny", ckpt_path=path, depth=1)
    with pytest.raises(CheckpointError, match="patch size differ"):
        build_backbone("prithvi_eo_tiny", ckpt_path=path, depth=2, patch_size=8)
    with pytest.raises(CheckpointError, match="does not exist"):
        build_backbone("prithvi_eo_tiny", ckpt_path=path.with_name("nope.pt"))
    with pytest.raises(ConfigError, match="pretrained=False"):
        build_backbone("prithvi_eo_tiny", ckpt_path=path, pretrained=False)


def test_band_subset_and_new_bands_remap_patch_embedding_by_name(write_checkpoint, caplog) -> None:
    path, mae = write_checkpoint("prithvi_eo_tiny")
    w = mae.encoder.patch_embed.proj.weight
    bands = ["RED", "NDVI", "BLUE", "nir_narrow"]
    with caplog.at_level(logging.INFO, logger="geo_plugin_prithvi"):
        bb = build_backbone("prithvi_eo_tiny", ckpt_path=path, depth=2, bands=bands)
    got = bb.patch_embed.proj.weight
    assert got.shape[1] == 4 and bb.bands == ["RED", "NDVI", "BLUE", "NIR_NARROW"]
    assert torch.equal(got[:, 0], w[:, 2]) and torch.equal(got[:, 2], w[:, 0]) and torch.equal(got[:, 3], w[:, 3])
    assert not torch.equal(got[:, 1], torch.zeros_like(got[:, 1]))  # fresh random init, not zeros
    assert "no pretrained weights for bands ['NDVI']" in caplog.text
    assert "pretrained weights for bands ['RED<-2', 'BLUE<-0', 'NIR_NARROW<-3']" in caplog.text
    assert "pretrained bands not used: ['GREEN', 'SWIR_1', 'SWIR_2']" in caplog.text
    with torch.no_grad():
        assert bb(torch.randn(1, 4, 32, 32))[0].shape == (1, 5, 256)


def test_mae_band_subset_remaps_the_reconstruction_head(write_checkpoint) -> None:
    path, mae = write_checkpoint("prithvi_eo_tiny")
    sub = build_mae("prithvi_eo_tiny", ckpt_path=path, bands=["SWIR_2", "GREEN"], **SMALL)
    w = mae.decoder.decoder_pred.weight.reshape(-1, 6, 128)
    got = sub.decoder.decoder_pred.weight.reshape(-1, 2, 128)
    assert torch.equal(got[:, 0], w[:, 5]) and torch.equal(got[:, 1], w[:, 1])
    assert sub(torch.randn(1, 2, 32, 32)).output.shape == (1, 2, 32, 32)


@pytest.mark.parametrize(("bad", "suggestion"), [("SWIR1", "SWIR_1"), ("GREN", "GREEN"), ("NIR_NAROW", "NIR_NARROW")])
def test_misspelt_band_is_an_error_not_random_weights(write_checkpoint, bad: str, suggestion: str) -> None:
    path, _ = write_checkpoint("prithvi_eo_tiny")
    with pytest.raises(ConfigError, match=f"unknown band '{bad}'; did you mean '{suggestion}'"):
        build_backbone("prithvi_eo_tiny", ckpt_path=path, depth=2, bands=["RED", bad])
    with pytest.raises(ConfigError, match="more than once"):
        build_backbone("prithvi_eo_tiny", bands=["RED", "red"])
    with pytest.raises(ConfigError, match="in_chans=4"):
        build_backbone("prithvi_eo_tiny", in_chans=4)


def test_missing_released_weights_offline_is_one_line_naming_repo_file_and_cache(tmp_path: Path) -> None:
    with pytest.raises(WeightsOfflineError) as info:
        build_backbone("prithvi_eo_v2_300", pretrained=True, depth=1)
    msg = str(info.value)
    assert "\n" not in msg and "GEO_OFFLINE=1" in msg
    assert "ibm-nasa-geospatial/Prithvi-EO-2.0-300M/Prithvi_EO_V2_300M.pt" in msg and str(tmp_path / "hf") in msg
    assert "geo weights download prithvi_eo_v2_300" in msg
    with pytest.raises(CheckpointError, match="no released weights"):
        build_backbone("prithvi_eo_tiny", pretrained=True)


@pytest.mark.parametrize(("variant", "layout"), [("prithvi_eo_v1_100", "v1"), ("prithvi_eo_v2_300_tl", "v2")])
def test_pretrained_true_fetches_the_released_file_from_the_hub(
    write_checkpoint, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variant: str, layout: str
) -> None:
    from geo_core.testing import WeightServer

    path, mae = write_checkpoint(variant, layout, embed_dim=64, num_heads=2)
    ref = geo_core.BACKBONES.info(f"prithvi:{variant}").metadata["weights"]
    with WeightServer() as server:
        server.use(monkeypatch, tmp_path)
        server.add_hf_file(ref["hf_repo"], ref["filename"], path.read_bytes())
        bb = build_backbone(variant, pretrained=True, depth=2, embed_dim=64, num_heads=2)
        monkeypatch.setenv("GEO_OFFLINE", "1")  # the second build uses the cache only
        again = build_backbone(variant, pretrained=True, depth=2, embed_dim=64, num_heads=2)
    kw = {}
    if layout == "v2":
        kw = {"temporal_coords": torch.zeros(1, 1, 2), "location_coords": torch.zeros(1, 2)}
    _same_encoder(bb, mae, torch.randn(1, 6, 32, 32), **kw)
    _same_encoder(again, mae, torch.randn(1, 6, 32, 32), **kw)
    assert server.count("GET", ref["filename"]) == 1


@pytest.mark.parametrize("where", ["flat", "repo", "hf_cache"])
def test_released_file_is_found_in_the_weights_dir_or_hf_cache(write_checkpoint, tmp_path: Path, where: str) -> None:
    path, mae = write_checkpoint("prithvi_eo_v1_100", "v1", embed_dim=64, num_heads=2)
    target = {
        "flat": tmp_path / "weights" / "Prithvi_EO_V1_100M.pt",
        "repo": tmp_path / "weights" / "ibm-nasa-geospatial" / "Prithvi-EO-1.0-100M" / "Prithvi_EO_V1_100M.pt",
        "hf_cache": tmp_path
        / "hf"
        / "models--ibm-nasa-geospatial--Prithvi-EO-1.0-100M"
        / "snapshots"
        / "abc123"
        / "Prithvi_EO_V1_100M.pt",
    }[where]
    target.parent.mkdir(parents=True)
    path.rename(target)
    repo = "ibm-nasa-geospatial/Prithvi-EO-1.0-100M"
    assert find_weights("prithvi_eo_v1_100", repo, "Prithvi_EO_V1_100M.pt") == target
    bb = build_backbone("prithvi_eo_v1_100", pretrained=True, depth=2, embed_dim=64, num_heads=2)
    _same_encoder(bb, mae, torch.randn(1, 6, 32, 32))


def test_lightning_style_container_is_unwrapped(write_checkpoint, tmp_path: Path) -> None:
    path, mae = write_checkpoint("prithvi_eo_tiny")
    wrapped = tmp_path / "wrapped.ckpt"
    torch.save({"state_dict": torch.load(path, weights_only=True), "epoch": 3}, wrapped)
    _same_encoder(build_backbone("prithvi_eo_tiny", ckpt_path=wrapped, depth=2), mae, torch.randn(1, 6, 32, 32))


def test_fine_tuned_lightning_checkpoint_with_model_encoder_prefix(tmp_path: Path) -> None:
    torch.manual_seed(3)
    src = build_backbone("prithvi_eo_tiny", depth=2)
    sd = {f"model.encoder.{k}": v for k, v in src.state_dict().items()}
    sd["model.decoder.conv.weight"] = torch.zeros(2, 2)
    path = tmp_path / "finetuned.ckpt"
    torch.save({"state_dict": sd, "epoch": 1}, path)
    bb = build_backbone("prithvi_eo_tiny", ckpt_path=path, depth=2)
    for k, v in src.state_dict().items():
        assert torch.equal(bb.state_dict()[k], v), k


def test_tl_checkpoint_missing_a_coordinate_scale_is_an_error_unless_built_without_it(write_checkpoint) -> None:
    """issue 22: a _tl file lacking temporal_embed_enc.scale no longer loads silently."""
    path, _ = write_checkpoint("prithvi_eo_v2_tiny_tl")
    sd = torch.load(path, weights_only=True)
    del sd["encoder.temporal_embed_enc.scale"]
    torch.save(sd, path)
    with pytest.raises(CheckpointError, match=r"(?s)encoder\.temporal_embed_enc\.scale.*coords_encoding") as info:
        build_backbone("prithvi_eo_v2_tiny_tl", ckpt_path=path, depth=2)
    assert str(path) in str(info.value)
    bb = build_backbone("prithvi_eo_v2_tiny_tl", ckpt_path=path, depth=2, coords_encoding=["location"])  # opt out
    assert not hasattr(bb, "temporal_embed_enc")


def test_key_errors_name_keys_as_in_the_file_with_prefix_and_count(write_checkpoint) -> None:
    path, _ = write_checkpoint("prithvi_eo_tiny")
    sd = torch.load(path, weights_only=True)
    torch.save({"state_dict": {f"model.{k}": v for k, v in sd.items()}}, path)  # a fine-tuned Lightning layout
    with pytest.raises(CheckpointError) as info:
        build_backbone("prithvi_eo_tiny", ckpt_path=path, depth=1)
    msg = str(info.value)
    assert str(path) in msg and "12 unexpected keys" in msg, msg
    assert "'model.encoder.blocks.1." in msg, msg
    with pytest.raises(CheckpointError, match=r"12 missing keys \('model\.encoder\.blocks\.2\."):
        build_backbone("prithvi_eo_tiny", ckpt_path=path, depth=3)


def test_checkpoint_without_patch_embedding_names_the_file(write_checkpoint) -> None:
    path, _ = write_checkpoint("prithvi_eo_tiny")
    sd = torch.load(path, weights_only=True)
    del sd["encoder.patch_embed.proj.weight"]
    torch.save(sd, path)
    with pytest.raises(CheckpointError, match=r"patch_embed\.proj\.weight") as info:
        build_backbone("prithvi_eo_tiny", ckpt_path=path, depth=2)
    assert str(path) in str(info.value)
