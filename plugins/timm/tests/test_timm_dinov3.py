"""DINOv3 under TerraTorch's names: metadata, tokens, Meta's checkpoint layout, key errors, decoders, training."""

from __future__ import annotations

from pathlib import Path

import geo_core
import pytest
import torch
from geo_core import CheckpointError, ConfigError
from geo_core.testing import check_backbone, check_key_report, check_task

# Lightning 2.6 calls a torch pytree API that torch 2.14 deprecates (FutureWarning inside lightning).
pytestmark = pytest.mark.filterwarnings("ignore:`isinstance\\(treespec, LeafSpec\\)` is deprecated:FutureWarning")

TINY = "timm:test_dinov3"
NECKS = [
    {"name": "SelectIndices", "indices": [0, 1, 2, 3]},
    {"name": "ReshapeTokensToImage", "remove_cls_token": True},
    {"name": "LearnedInterpolateToPyramidal"},
]
TERRATORCH = [
    "dinov3_vits16",
    "dinov3_vits16plus",
    "dinov3_vitb16",
    "dinov3_vitl16",
    "dinov3_vitl16plus",
    "dinov3_vith16plus",
    "dinov3_vit7b16",
]


def test_terratorch_names_and_satellite_weights_are_listed_without_import() -> None:
    names = set(geo_core.BACKBONES.names(source="timm"))
    for n in [*TERRATORCH, "dinov3_vitl16_sat493m", "dinov3_vit7b16_sat493m", "test_dinov3"]:
        assert f"timm:{n}" in names
        meta = geo_core.BACKBONES.info(f"timm:{n}").metadata
        assert meta["output"] == "tokens" and meta["prefix_tokens"] == 1 and meta["licence"]
        assert meta["out_channels"] == [meta["embed_dim"]] * meta["depth"]
    sat = geo_core.BACKBONES.info("timm:dinov3_vitl16_sat493m").metadata
    assert sat["weights"] == {"hf_repo": "timm/vit_large_patch16_dinov3_qkvb.sat493m", "filename": "model.safetensors"}
    assert geo_core.BACKBONES.info("timm:dinov3_vit7b16").metadata["embed_dim"] == 4096


def test_tiny_variant_returns_normed_tokens_class_first() -> None:
    bb = geo_core.BACKBONES.build(TINY)
    assert bb.output_format == "tokens" and bb.prefix_tokens == 1 and bb.out_channels == [64] * 4
    feats = check_backbone(bb, in_channels=3, image_size=(64, 48))
    assert all(f.shape == (2, 1 + 4 * 3, 64) for f in feats)
    bb.eval()
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        ref = bb.vit.forward_intermediates(
            x, norm=True, output_fmt="NLC", intermediates_only=True, return_prefix_tokens=True
        )
        out = bb(x)
    for (patches, prefix), o in zip(ref, out, strict=True):
        assert torch.equal(o[:, 0], prefix[:, 0]) and torch.equal(o[:, 1:], patches)  # registers dropped
    no_cls = geo_core.BACKBONES.build(TINY, return_cls_token=False, out_indices=[-1])
    assert no_cls.prefix_tokens == 0 and no_cls(x)[0].shape == (1, 4, 64)
    with pytest.raises(ConfigError, match="RGB"):
        geo_core.BACKBONES.build("timm:dinov3_vits16", pretrained=True, in_chans=4)


def _meta_layout(vit: torch.nn.Module) -> dict[str, torch.Tensor]:
    """A timm DINOv3 state dict as Meta releases it (storage_tokens, qkv.bias + bias_mask, ls*.gamma, ...)."""
    out: dict[str, torch.Tensor] = {}
    sd = vit.state_dict()
    for k, v in sd.items():
        if k.endswith("attn.q_bias"):
            v_bias = sd[k.replace("q_bias", "v_bias")]
            out[k.replace("q_bias", "qkv.bias")] = torch.cat([v, torch.zeros_like(v), v_bias])
            out[k.replace("q_bias", "qkv.bias_mask")] = torch.cat(
                [torch.ones_like(v), torch.zeros_like(v), torch.ones_like(v)]
            )
            continue
        if k.endswith("attn.v_bias") or "rope" in k:
            continue
        k = k.replace("reg_token", "storage_tokens").replace("gamma_1", "ls1.gamma").replace("gamma_2", "ls2.gamma")
        out[k] = v
    out["mask_token"] = torch.zeros(1, sd["cls_token"].shape[-1])
    out["local_cls_norm.weight"] = torch.ones(sd["cls_token"].shape[-1])
    return out


def test_meta_released_layout_loads_to_the_same_outputs(tmp_path: Path) -> None:
    torch.manual_seed(0)
    ref = geo_core.BACKBONES.build(TINY).eval()
    with torch.no_grad():
        for p in ref.parameters():
            p.add_(0.05 * torch.randn_like(p))
    meta = _meta_layout(ref.vit)
    assert "blocks.0.ls1.gamma" in meta and "storage_tokens" in meta
    torch.save(meta, tmp_path / "dinov3_test_pretrain.pth")
    ours = geo_core.BACKBONES.build(TINY, ckpt_path=tmp_path / "dinov3_test_pretrain.pth").eval()
    x = torch.randn(2, 3, 48, 32)
    with torch.no_grad():
        assert all(torch.equal(a, b) for a, b in zip(ref(x), ours(x), strict=True))
    check_key_report(lambda p: geo_core.BACKBONES.build(TINY, ckpt_path=p), meta, tmp_path, drop="blocks.2.ls2.gamma")
    (tmp_path / "cut.pth").write_bytes((tmp_path / "dinov3_test_pretrain.pth").read_bytes()[:4000])
    with pytest.raises(CheckpointError, match=r"cut\.pth"):
        geo_core.BACKBONES.build(TINY, ckpt_path=tmp_path / "cut.pth")


def test_pretrained_fetches_timms_hub_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from geo_core.testing import WeightServer
    from safetensors.torch import save_file

    torch.manual_seed(1)
    small = geo_core.BACKBONES.build("timm:dinov3_vits16", depth=2)
    path = tmp_path / "model.safetensors"
    save_file({k: v.contiguous() for k, v in small.vit.state_dict().items()}, str(path))
    with WeightServer() as server:
        server.use(monkeypatch, tmp_path / "cache")
        server.add_hf_file("timm/vit_small_patch16_dinov3_qkvb.lvd1689m", "model.safetensors", path.read_bytes())
        bb = geo_core.BACKBONES.build("timm:dinov3_vits16", pretrained=True, depth=2)
        assert torch.equal(bb.vit.blocks[1].attn.qkv.weight, small.vit.blocks[1].attn.qkv.weight)
    with pytest.raises(ConfigError, match="sat493m"):
        geo_core.BACKBONES.build("timm:dinov3_vitb16", pretrained=True, weights="sat493m")


@pytest.mark.parametrize("decoder", ["UNetDecoder", "UperNetDecoder", "FCNDecoder", "ASPPSegmentationHead", "smp:Unet"])
def test_composes_through_token_necks_with_core_and_smp_decoders(decoder: str) -> None:
    kwargs = {
        "UNetDecoder": {"channels": [32, 16, 16, 8]},
        "UperNetDecoder": {"channels": 16},
        "FCNDecoder": {"channels": 16, "num_convs": 2},
        "ASPPSegmentationHead": {"channels": 16, "dilations": [1, 2]},
        "smp:Unet": {"decoder_channels": [16, 8, 8, 8, 8]},
    }[decoder]
    factory = geo_core.MODEL_FACTORIES.build("EncoderDecoderFactory")
    model = factory.build_model(
        "segmentation",
        backbone=TINY,
        decoder=decoder,
        decoder_kwargs=kwargs,
        necks=[dict(n) for n in NECKS],
        num_classes=3,
    )
    out = model(torch.randn(2, 3, 64, 48)).output
    assert out.shape == (2, 3, 64, 48)
    out.mean().backward()


def test_one_training_step_through_the_segmentation_task() -> None:
    from geo_core.tasks import SemanticSegmentationTask

    task = SemanticSegmentationTask(
        model_factory="EncoderDecoderFactory",
        model_args={
            "backbone": TINY,
            "backbone_in_chans": 6,
            "necks": [dict(n) for n in NECKS],
            "decoder": "UperNetDecoder",
            "decoder_channels": 16,
            "num_classes": 2,
        },
        loss="ce",
        lr=1e-3,
    )
    before = {k: v.clone() for k, v in task.model.encoder.state_dict().items()}
    check_task(task)  # one fit step (and a validation batch) on 6-band 32x32 tiles
    assert any(not torch.equal(v, task.model.encoder.state_dict()[k]) for k, v in before.items())
