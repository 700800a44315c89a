"""The released checkpoint layout, band selection, and errors that name the keys."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geo_core
import pytest
import torch
from geo_core import CheckpointError, ConfigError
from geo_plugin_terramind import build_backbone

MODS = ["S2L2A", "S1GRD", "LULC"]


def _x(bands: int = 12) -> dict[str, torch.Tensor]:
    torch.manual_seed(3)
    return {
        "S2L2A": torch.randn(2, bands, 32, 32),
        "S1GRD": torch.randn(2, 2, 32, 32),
        "LULC": torch.randint(0, 4375, (2, 2, 2)),
    }


def test_released_layout_loads_and_gives_the_same_outputs(write_checkpoint: Callable[..., Any]) -> None:
    path, src = write_checkpoint()
    ours = build_backbone("test_terramind_v1", modalities=MODS, ckpt_path=path).eval()
    with torch.no_grad():
        for a, b in zip(src(_x()), ours(_x()), strict=True):
            assert torch.equal(a, b)
    # a subset of the modalities: the other embeddings in the file are ignored
    sub = geo_core.BACKBONES.build("terramind:test_terramind_v1", modalities=["S1GRD"], ckpt_path=path)
    assert torch.equal(
        sub.encoder_embeddings["untok_sen1grd@224"].proj.weight, src.encoder_embeddings["untok_sen1grd@224"].proj.weight
    )
    # a concat model loads it too: missing_mod_token is not in released files
    build_backbone("test_terramind_v1", modalities=MODS, merge_method="concat", ckpt_path=path)


def test_fine_tuned_prefix_is_found(write_checkpoint: Callable[..., Any]) -> None:
    path, src = write_checkpoint(transform=lambda sd: {f"model.encoder.{k}": v for k, v in sd.items()})
    ours = build_backbone("test_terramind_v1", modalities=MODS, ckpt_path=path).eval()
    assert torch.equal(ours.encoder[3].mlp.fc2.weight, src.encoder[3].mlp.fc2.weight)
    # errors name the keys as they are in the file
    path, _ = write_checkpoint(
        seed=2, transform=lambda sd: {f"model.encoder.{k}": v for k, v in sd.items() if k != "encoder_norm.weight"}
    )
    with pytest.raises(CheckpointError, match=r"1 missing key \('model\.encoder\.encoder_norm\.weight'\)"):
        build_backbone("test_terramind_v1", modalities=MODS, ckpt_path=path)


def test_truncated_file_names_the_missing_keys(write_checkpoint: Callable[..., Any]) -> None:
    path, _ = write_checkpoint(transform=lambda sd: {k: v for k, v in sd.items() if not k.startswith("encoder.3.")})
    with pytest.raises(CheckpointError, match=r"missing keys \('encoder\.3\.attn\.proj\.bias'"):
        build_backbone("test_terramind_v1", modalities=MODS, ckpt_path=path)
    path, _ = write_checkpoint(seed=1, transform=lambda sd: {**sd, "encoder.9.attn.qkv.weight": torch.zeros(1)})
    with pytest.raises(CheckpointError, match=r"1 unexpected key \('encoder\.9\.attn\.qkv\.weight'\)"):
        build_backbone("test_terramind_v1", modalities=MODS, ckpt_path=path)
    with pytest.raises(CheckpointError, match="shapes do not fit"):
        build_backbone("terramind_v1_tiny", modalities=MODS, depth=4, ckpt_path=path)


def test_damaged_or_absent_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"\x80\x02 not a checkpoint")
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        build_backbone("test_terramind_v1", ckpt_path=bad)
    with pytest.raises(CheckpointError, match="does not exist"):
        build_backbone("test_terramind_v1", ckpt_path=tmp_path / "nope.pt")
    with pytest.raises(CheckpointError, match="no released weights"):
        build_backbone("test_terramind_v1", pretrained=True)


def test_band_selection_by_name(write_checkpoint: Callable[..., Any], caplog: pytest.LogCaptureFixture) -> None:
    path, src = write_checkpoint()
    bands = {"S2L2A": ["RED", "GREEN", "BLUE", "NIR_NARROW", "MY_INDEX"]}
    with caplog.at_level(logging.WARNING, logger="geo_plugin_terramind"):
        ours = build_backbone("test_terramind_v1", modalities=MODS, bands=bands, ckpt_path=path).eval()
    assert "['MY_INDEX']" in caplog.text
    w_src = src.encoder_embeddings["untok_sen2l2a@224"].proj.weight.reshape(32, 256, 12)
    w = ours.encoder_embeddings["untok_sen2l2a@224"].proj.weight.reshape(32, 256, 5)
    for i, j in enumerate([3, 2, 1, 8]):  # RED, GREEN, BLUE, NIR_NARROW in the pre-trained order
        assert torch.equal(w[..., i], w_src[..., j])
    # the same pixels through the selected bands give the same tokens as the full model
    x = _x()
    sel = dict(x, S2L2A=torch.cat([x["S2L2A"][:, [3, 2, 1, 8]], torch.zeros(2, 1, 32, 32)], 1))
    with torch.no_grad():
        w[..., 4] = 0  # the new band contributes nothing
        full = dict(x, S2L2A=x["S2L2A"].clone())
        full["S2L2A"][:, [0, 4, 5, 6, 7, 9, 10, 11]] = 0
        assert torch.allclose(src(full)[-1], ours(sel)[-1], atol=1e-5)


def test_integer_bands_are_unnamed_new_bands_as_in_terratorch(
    write_checkpoint: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    """TerraTorch's integration configs give S1GRD bands as [0, 1]: they match no pre-trained band (warned)."""
    path, src = write_checkpoint()
    with caplog.at_level(logging.WARNING, logger="geo_plugin_terramind"):
        ours = build_backbone("test_terramind_v1", modalities=MODS, bands={"S1GRD": [0, 1]}, ckpt_path=path)
    assert "integers never match a pre-trained band" in caplog.text
    key = "untok_sen1grd@224"
    assert not torch.equal(ours.encoder_embeddings[key].proj.weight, src.encoder_embeddings[key].proj.weight)
    assert torch.equal(ours.encoder[0].attn.qkv.weight, src.encoder[0].attn.qkv.weight)


def test_band_errors() -> None:
    with pytest.raises(ConfigError, match="did you mean 'SWIR_1'"):
        build_backbone("test_terramind_v1", bands={"S2L2A": ["RED", "SWIR1"]})
    with pytest.raises(ConfigError, match="not in modalities"):
        build_backbone("test_terramind_v1", bands={"S1GRD": ["VV"]})
    with pytest.raises(ConfigError, match="tokenized modality"):
        build_backbone("test_terramind_v1", modalities=["LULC"], bands={"LULC": ["A"]})
    with pytest.raises(ConfigError, match="distinct band names"):
        build_backbone("test_terramind_v1", modalities=["S1GRD"], bands={"S1GRD": ["VV", "vv"]})
    model = build_backbone("test_terramind_v1", modalities=["s1grd"], bands={"S1GRD": ["VH"]})
    assert model.encoder_embeddings["untok_sen1grd@224"].proj.in_features == 256


def test_pretrained_fetches_the_released_file_through_the_weights_layer(
    write_checkpoint: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from geo_core.testing import WeightServer

    path, src = write_checkpoint("terramind_v1_tiny", depth=1)
    truncated = path.read_bytes()[: len(path.read_bytes()) // 2]
    with WeightServer() as server:
        server.use(monkeypatch, tmp_path / "cache")
        server.add_hf_file("ibm-esa-geospatial/TerraMind-1.0-tiny", "TerraMind_v1_tiny.pt", path.read_bytes())
        ours = build_backbone("terramind_v1_tiny", modalities=MODS, depth=1, pretrained=True).eval()
        assert torch.equal(ours.encoder[0].attn.qkv.weight, src.encoder[0].attn.qkv.weight)
        with pytest.raises(CheckpointError, match=r"missing keys \('encoder\.1\.attn\.proj\.bias'"):
            build_backbone("terramind_v1_tiny", modalities=MODS, depth=2, pretrained=True)
        server.add_hf_file("ibm-esa-geospatial/TerraMind-1.0-small", "TerraMind_v1_small.pt", truncated)
        with pytest.raises(CheckpointError, match="truncated or corrupt"):
            build_backbone("terramind_v1_small", depth=1, pretrained=True)
