"""Forward shapes, encodings, position embeddings, necks with T > 1, conformance and LoRA."""

from __future__ import annotations

import geo_core
import pytest
import torch
from geo_core.testing import check_backbone, check_neck
from geo_plugin_prithvi import PrithviViT, build_backbone, build_mae
from geo_plugin_prithvi._pos_embed import sincos_3d

D = 256  # prithvi_eo_tiny width


def tiny(**kw: object) -> PrithviViT:
    return build_backbone("prithvi_eo_tiny", **{"depth": 2, **kw})


@pytest.mark.parametrize(
    ("shape", "tokens"),
    [
        ((2, 6, 32, 32), 1 + 4),  # (B, C, H, W)
        ((2, 6, 1, 32, 32), 1 + 4),  # (B, C, 1, H, W)
        ((2, 6, 48, 80), 1 + 3 * 5),  # non-square, not 224
        ((1, 6, 3, 32, 48), 1 + 3 * 6),  # three frames
    ],
)
def test_token_shapes(shape: tuple[int, ...], tokens: int) -> None:
    model = tiny(num_frames=shape[2] if len(shape) == 5 else 1)
    with torch.no_grad():
        feats = model(torch.randn(shape))
    assert [tuple(f.shape) for f in feats] == [(shape[0], tokens, D)] * 2
    assert model.out_channels == [D, D]


def test_out_indices_select_blocks_and_last_block_is_normed() -> None:
    torch.manual_seed(0)
    model = tiny(depth=3).eval()
    x = torch.randn(1, 6, 32, 32)
    with torch.no_grad():
        full = model.forward_features(x)
        model.out_indices = [0, 2]
        sel = model(x)
        model.out_indices = [1]
        early = model(x)
    assert torch.equal(sel[0], full[0]) and torch.equal(sel[1], full[2]) and torch.equal(early[0], full[1])
    assert torch.allclose(full[2].mean(-1), torch.zeros(1, 5), atol=1e-5)  # layer-normed (unit weights)
    with pytest.raises(ValueError, match="out of range"):
        tiny(out_indices=[5])


def test_size_not_a_multiple_of_the_patch_is_an_error() -> None:
    with pytest.raises(ValueError, match="multiple of the patch size"):
        tiny()(torch.randn(1, 6, 30, 32))
    with pytest.raises(ValueError, match="input channels"):
        tiny()(torch.randn(1, 4, 32, 32))


def test_position_embedding_is_recomputed_for_the_real_grid() -> None:
    model = tiny()
    assert torch.equal(model.position_embedding((1, 14, 14)), model.pos_embed)
    assert torch.equal(model.position_embedding((2, 3, 5)), sincos_3d(D, (2, 3, 5)))
    interp = tiny(pos_embed_mode="interpolate")
    emb = interp.position_embedding((1, 3, 5))
    assert emb.shape == (1, 16, D) and not torch.equal(emb, sincos_3d(D, (1, 3, 5)))
    # sin-cos: the stored 14x14 grid is the recomputed one at that size, and the cls slot is zero
    assert torch.equal(sincos_3d(D, (1, 14, 14)), model.pos_embed) and model.pos_embed[0, 0].abs().sum() == 0


def test_temporal_and_location_coords_enter_as_forward_kwargs() -> None:
    torch.manual_seed(0)
    model = build_backbone("prithvi_eo_v2_tiny_tl", depth=1, num_frames=2).eval()
    x = torch.randn(2, 6, 2, 32, 32)
    tc = torch.tensor([[[2020.0, 10.0], [2020.0, 200.0]]] * 2)
    lc = torch.tensor([[45.0, 7.0], [-10.0, 120.0]])
    with torch.no_grad():
        plain = model(x)[0]
        with_t = model(x, temporal_coords=tc)[0]
        both = model(x, temporal_coords=tc, location_coords=lc)[0]
    assert not torch.allclose(plain, with_t) and not torch.allclose(with_t, both)
    with pytest.raises(ValueError, match="temporal_coords has 3 frames"):
        model(x, temporal_coords=torch.zeros(2, 3, 2))
    # a non-TL backbone ignores the coordinates (batches may carry them)
    t = tiny().eval()
    with torch.no_grad():
        assert torch.equal(t(x[:, :, 0])[0], t(x[:, :, 0], temporal_coords=tc, location_coords=lc)[0])


def test_conformance_on_the_tiny_variant() -> None:
    check_backbone(geo_core.BACKBONES.build("prithvi:prithvi_eo_tiny", depth=2), in_channels=6, image_size=(32, 48))
    check_backbone(build_backbone("prithvi_eo_v2_tiny_tl", depth=1), in_channels=6, image_size=(32, 32))


@pytest.mark.parametrize("frames", [1, 3])
def test_channel_bookkeeping_through_the_core_necks(frames: int) -> None:
    """Token widths stay embed_dim; ReshapeTokensToImage(effective_time_dim) reports T' * embed_dim, truthfully."""
    from geo_core.models.necks import build_necks

    model = tiny(depth=4, num_frames=frames)
    assert model.effective_time_dim == frames
    x = torch.randn(2, 6, frames, 32, 48)
    with torch.no_grad():
        feats = model(x)
    assert [f.shape[-1] for f in feats] == model.out_channels
    reshape = geo_core.NECKS.build(
        "ReshapeTokensToImage", model.out_channels, effective_time_dim=model.effective_time_dim
    )
    maps = check_neck(reshape, model.out_channels, feats, image_size=(32, 48))
    assert [tuple(m.shape) for m in maps] == [(2, frames * D, 2, 3)] * 4
    chain, channels = build_necks(
        [
            {"name": "SelectIndices", "indices": [0, 1, 2, 3]},
            {"name": "ReshapeTokensToImage", "effective_time_dim": frames},
            {"name": "LearnedInterpolateToPyramidal"},
        ],
        model.out_channels,
    )
    with torch.no_grad():
        out = chain(feats, image_size=(32, 48))
    assert [o.shape[1] for o in out] == channels
    assert [tuple(o.shape[-2:]) for o in out][:3] == [(8, 12), (4, 6), (2, 3)]  # 4x, 2x, 1x the token grid


def test_tubelet_two_frames_fold_into_one_token_frame() -> None:
    model = tiny(num_frames=4, patch_size=(2, 16, 16))
    assert model.effective_time_dim == 2
    with torch.no_grad():
        (f,) = model(torch.randn(1, 6, 4, 32, 32))[-1:]
    assert f.shape == (1, 1 + 2 * 4, D)


def test_lora_targets_are_linear_layers() -> None:
    peft = pytest.importorskip("peft")
    model = tiny()
    cfg = peft.LoraConfig(r=4, lora_alpha=8, target_modules=["qkv", "mlp.fc1", "mlp.fc2"])
    model = peft.inject_adapter_in_model(cfg, model)
    lora = [n for n, _ in model.named_parameters() if "lora_" in n]
    assert len(lora) == 2 * 3 * 2  # A and B, three targets, two blocks
    for n, p in model.named_parameters():
        p.requires_grad_("lora_" in n)
    out = model(torch.randn(1, 6, 32, 32))
    sum(o.mean() for o in out).backward()
    assert all(p.grad is not None for n, p in model.named_parameters() if "lora_B" in n)


def test_mae_reconstructs_single_and_multi_temporal_inputs() -> None:
    torch.manual_seed(0)
    mae = build_mae("prithvi_eo_tiny", depth=1, decoder_depth=1, num_frames=2)
    x = torch.randn(2, 6, 2, 32, 48)
    out = mae(x)
    assert out.output.shape == x.shape and out.auxiliary_heads["mask"].shape == (2, 2, 32, 48)
    loss, _, mask = mae.reconstruct(x, mask_ratio=0.5)
    assert loss.ndim == 0 and mask.mean().item() == pytest.approx(0.5)
    loss.backward()
    single = build_mae("prithvi_eo_tiny", depth=1, decoder_depth=1)
    o = single(torch.randn(1, 6, 32, 32))
    assert o.output.shape == (1, 6, 32, 32) and o.auxiliary_heads["mask"].shape == (1, 32, 32)
    x5 = torch.randn(1, 6, 2, 32, 32)
    assert torch.equal(mae.unpatchify(mae.patchify(x5), (2, 2, 2)), x5)
