"""Multimodal forward: merging, missing modalities, names, token inputs, conformance."""

from __future__ import annotations

import geo_core
import pytest
import torch
from geo_core import ConfigError
from geo_core.testing import check_backbone
from geo_plugin_terramind import TerraMindViT, build_backbone

D = 32  # test_terramind_v1 width


def tiny(**kw: object) -> TerraMindViT:
    torch.manual_seed(0)
    return build_backbone("test_terramind_v1", **{"depth": 2, "modalities": ["S2L2A", "S1GRD"], **kw}).eval()


def inputs(b: int = 2, h: int = 32, w: int = 48) -> dict[str, torch.Tensor]:
    torch.manual_seed(1)
    return {"S2L2A": torch.randn(b, 12, h, w), "S1GRD": torch.randn(b, 2, h, w)}


@pytest.mark.parametrize(("merge", "width"), [("mean", D), ("max", D), ("concat", 2 * D)])
def test_merge_methods_give_tokens_of_the_declared_width(merge: str, width: int) -> None:
    model = tiny(merge_method=merge)
    with torch.no_grad():
        feats = model(inputs())
    assert [tuple(f.shape) for f in feats] == [(2, 2 * 3, width)] * 2
    assert model.out_channels == [width, width]
    assert model.output_format == "tokens" and model.prefix_tokens == 0 and model.patch_size == 16


def test_merge_is_over_modalities_of_the_shared_sequence() -> None:
    model = tiny(merge_method="concat")
    with torch.no_grad():
        cat = model(inputs())[-1]
        model.merge_method = "mean"
        mean = model(inputs())[-1]
    assert torch.allclose((cat[..., :D] + cat[..., D:]) / 2, mean, atol=1e-6)


def test_missing_modality_at_inference() -> None:
    model = tiny(merge_method="concat")
    x = inputs()
    with torch.no_grad():
        only_s1 = model({"S1GRD": x["S1GRD"]})[-1]
    assert only_s1.shape == (2, 6, 2 * D)
    # the learnt filler sits in the slot of the missing S2L2A (the first modality)
    assert torch.equal(only_s1[0, 0, :D], model.missing_mod_token.detach())
    mean = tiny()
    with torch.no_grad():
        alone = mean({"S1GRD": x["S1GRD"]})[-1]
        both = mean(x)[-1]
    assert alone.shape == both.shape == (2, 6, D) and not torch.allclose(alone, both)


def test_names_aliases_order_and_single_tensor_input() -> None:
    model = tiny()
    x = inputs()
    with torch.no_grad():
        ref = model(x)[-1]
        swapped = model({"S1GRD": x["S1GRD"], "S2L2A": x["S2L2A"]})[-1]
        aliases = model({"untok_sen2l2a@224": x["S2L2A"], "s1grd": x["S1GRD"]})[-1]
        single = model(x["S2L2A"])[-1]
        only_s2 = model({"S2L2A": x["S2L2A"]})[-1]
    assert torch.equal(ref, swapped) and torch.equal(ref, aliases) and torch.equal(single, only_s2)
    with pytest.warns(UserWarning, match="'S2L1C' is not one of"):
        model({**x, "S2L1C": torch.zeros(2, 13, 32, 48)})
    with pytest.raises(ValueError, match="none of the input modalities"), pytest.warns(UserWarning, match="DEM"):
        model({"DEM": torch.zeros(2, 1, 32, 48)})


def test_tokenized_modalities_take_token_ids() -> None:
    model = tiny(modalities=["S2L2A", "LULC", "NDVI"])
    x = inputs()
    with torch.no_grad():
        out = model(
            {"S2L2A": x["S2L2A"], "LULC": torch.randint(0, 4375, (2, 2, 3)), "NDVI": torch.randint(0, 15360, (2, 2, 3))}
        )
    assert out[-1].shape == (2, 6, D)
    with pytest.raises(ValueError, match="does not ship TerraMind's tokenizers"):
        model({"LULC": torch.rand(2, 1, 32, 48)})


def test_new_modality_and_errors() -> None:
    model = tiny(modalities=["S2L2A", {"HEIGHT": 1}])
    with torch.no_grad():
        assert model({"S2L2A": inputs()["S2L2A"], "HEIGHT": torch.randn(2, 1, 32, 48)})[0].shape == (2, 6, D)
    with pytest.raises(ConfigError, match="unknown TerraMind modality 'S3OLCI'"):
        tiny(modalities=["S3OLCI"])
    with pytest.raises(ValueError, match="'mean', 'max' or 'concat'"):
        tiny(merge_method="dict")
    with pytest.raises(ValueError, match="multiples of the patch size"):
        tiny()({"S2L2A": torch.randn(1, 12, 30, 32)})
    with pytest.raises(ValueError, match="out of range"):
        tiny(out_indices=[2])


def test_out_indices_and_non_224_position_embedding() -> None:
    model = tiny(depth=3)
    x = inputs(1, 64, 64)
    with torch.no_grad():
        full = model(x)
        model.out_indices = [0, 2]
        sel = model(x)
    assert torch.equal(sel[0], full[0]) and torch.equal(sel[1], full[2])
    emb = model.encoder_embeddings["untok_sen2l2a@224"]
    assert emb.position((14, 14)).shape == (1, 196, D) and emb.position((4, 4)).shape == (1, 16, D)


def test_modality_dropout_only_in_training() -> None:
    model = tiny(modality_drop_rate=1.0)
    model.train()
    torch.manual_seed(0)
    present = model.forward_features(inputs())[1]
    assert len(present) == 1
    model.eval()
    assert model.forward_features(inputs())[1] == ["untok_sen2l2a@224", "untok_sen1grd@224"]


def test_conformance_on_the_tiny_variant() -> None:
    check_backbone(
        geo_core.BACKBONES.build("terramind:test_terramind_v1", depth=2), in_channels=12, image_size=(32, 48)
    )
    check_backbone(tiny(modalities=["S1GRD", "DEM"], merge_method="concat"), in_channels=2, image_size=(32, 32))
