"""MMEarth ConvNeXt-V2: metadata, contract, released-checkpoint conversion, key errors, decoders, one training step."""

from __future__ import annotations

import math
from pathlib import Path

import geo_core
import pytest
import torch
from geo_core import CheckpointError, ConfigError
from geo_core.testing import check_backbone, check_key_report, check_plugin_metadata, check_task

# Lightning 2.6 calls a torch pytree API that torch 2.14 deprecates (FutureWarning inside lightning).
pytestmark = pytest.mark.filterwarnings("ignore:`isinstance\\(treespec, LeafSpec\\)` is deprecated:FutureWarning")

TINY = "mmearth:test_mmearth_convnextv2"


def test_metadata_lists_every_size_without_torch() -> None:
    found = check_plugin_metadata("mmearth")
    sizes = ["atto", "femto", "pico", "nano", "tiny", "base", "large", "huge"]
    assert {f"mmearth:mmearth_convnextv2_{s}" for s in sizes} | {TINY} == set(found["backbone"])
    from geo_plugin_mmearth._convnextv2 import CFGS

    for name, cfg in CFGS.items():
        meta = geo_core.BACKBONES.info(f"mmearth:{name}").metadata
        assert meta["out_channels"] == cfg["dims"] and meta["depths"] == cfg["depths"] and meta["licence"]
    assert geo_core.BACKBONES.info("mmearth:mmearth_convnextv2_atto").metadata["weights"]["url"].startswith("https://")


def test_tiny_variant_meets_the_backbone_contract() -> None:
    bb = geo_core.BACKBONES.build(TINY, in_chans=5)
    feats = check_backbone(bb, in_channels=5, image_size=(64, 48))
    # 3x3 valid conv (64 -> 62), stem k=s=2 pad 1 (-> 32), then three 2x downsamplings
    assert [tuple(f.shape[-2:]) for f in feats] == [(32, 24), (16, 12), (8, 6), (4, 3)]
    only = geo_core.BACKBONES.build(TINY, out_indices=[-1])
    assert only.out_channels == [32]
    with pytest.raises(ConfigError, match="no released weights"):
        geo_core.BACKBONES.build(TINY, pretrained=True)


def _sparse(dense: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The dense state dict written in MMEarth's released (MinkowskiEngine, FCMAE) layout."""
    convs = {k.rpartition(".")[0] for k, v in dense.items() if v.ndim == 4 and k.endswith(".weight")}
    out: dict[str, torch.Tensor] = {}
    for k, v in dense.items():
        mod, _, leaf = k.rpartition(".")
        if mod in convs and leaf == "weight":
            flat = v.transpose(3, 2).reshape(v.shape[0], v.shape[1], -1)  # (out, in, k*k)
            depthwise = mod.endswith("dwconv") or mod == "stem.0"
            out[f"encoder.{mod}.kernel"] = (flat[:, 0].permute(1, 0) if depthwise else flat.permute(2, 1, 0)).clone()
        elif mod in convs:
            out[f"encoder.{k}"] = v[None]  # sparse conv biases are (1, C)
        elif leaf in ("gamma", "beta"):
            out[f"encoder.{k}"] = v.reshape(1, -1)
        else:  # MinkowskiLinear / MinkowskiLayerNorm wrap torch modules as .linear / .ln
            inner = "linear" if mod.endswith(("pwconv1", "pwconv2")) else "ln"
            out[f"encoder.{mod}.{inner}.{leaf}"] = v
    out["decoder.0.weight"] = torch.zeros(2)
    out["mask_token"] = torch.zeros(1, 40)
    return out


def test_released_layout_converts_to_the_same_weights(tmp_path: Path) -> None:
    torch.manual_seed(0)
    ref = geo_core.BACKBONES.build(TINY, in_chans=12, patch_size=8).eval()
    with torch.no_grad():
        for p in ref.parameters():
            p.add_(0.05 * torch.randn_like(p))
    path = tmp_path / "checkpoint-199.pth"
    torch.save({"model": _sparse(ref.state_dict()), "epoch": 199}, path)
    ours = geo_core.BACKBONES.build(TINY, ckpt_path=path, patch_size=8).eval()
    x = torch.randn(2, 12, 56, 56)
    with torch.no_grad():
        assert all(torch.equal(a, b) for a, b in zip(ref(x), ours(x), strict=True))
    # HLS names select stem channels (RED = B4, NIR_NARROW = B8A)
    sub = geo_core.BACKBONES.build(TINY, ckpt_path=path, patch_size=8, bands=["RED", "NIR_NARROW"])
    assert torch.equal(sub.initial_conv[0].weight, ref.initial_conv[0].weight[:, [3, 7]])
    with pytest.raises(ConfigError, match="'B10'"):
        geo_core.BACKBONES.build(TINY, ckpt_path=path, patch_size=8, bands=["B10"])


def test_wrong_or_truncated_files_name_the_keys_as_in_the_file(tmp_path: Path) -> None:
    ref = geo_core.BACKBONES.build(TINY, in_chans=12, patch_size=8)
    state = _sparse(ref.state_dict())
    check_key_report(
        lambda p: geo_core.BACKBONES.build(TINY, ckpt_path=p, patch_size=8),
        state,
        tmp_path,
        drop="encoder.stages.2.0.pwconv1.linear.weight",
        extra="encoder.stages.9.weird",
        wrap=lambda sd: {"model": sd},
    )
    torch.save({"model": state}, tmp_path / "ok.pth")
    with pytest.raises(CheckpointError, match=r"shapes do not fit.*patch_size"):
        geo_core.BACKBONES.build(TINY, ckpt_path=tmp_path / "ok.pth", patch_size=16)  # stem kernel 2 vs 1
    (tmp_path / "cut.pth").write_bytes((tmp_path / "ok.pth").read_bytes()[:3000])
    with pytest.raises(CheckpointError, match=r"cut\.pth"):
        geo_core.BACKBONES.build(TINY, ckpt_path=tmp_path / "cut.pth", patch_size=8)


def test_pretrained_fetches_the_released_url_through_the_weights_layer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from geo_core.testing import WeightServer
    from geo_plugin_mmearth import _convnextv2 as mm

    ref = mm.build_convnextv2("mmearth_convnextv2_atto", in_chans=12, patch_size=8)
    data_path = tmp_path / "ckpt.pth"
    torch.save({"model": _sparse(ref.state_dict())}, data_path)
    with WeightServer() as server:
        server.use(monkeypatch, tmp_path / "cache")
        url = server.add_file("mm/checkpoint-199.pth", data_path.read_bytes())
        monkeypatch.setitem(mm.CHECKPOINTS, "pt-all_mod_atto_1M_64_uncertainty_56-8", (url, 8))
        bb = geo_core.BACKBONES.build("mmearth:mmearth_convnextv2_atto", pretrained=True, out_indices=[3])
        assert torch.equal(bb.stages[3][1].grn.gamma, ref.stages[3][1].grn.gamma)
        assert bb.bands == mm.S2_BANDS and bb.out_channels == [320]
    with pytest.raises(ConfigError, match="no released weights"):
        geo_core.BACKBONES.build("mmearth:mmearth_convnextv2_tiny", pretrained=True)


DECODERS = {
    "UNetDecoder": {"channels": [32, 16, 16, 8]},
    "UperNetDecoder": {"channels": 16},
    "FCNDecoder": {"channels": 16, "num_convs": 2},
    "ASPPSegmentationHead": {"channels": 16, "dilations": [1, 2]},
    "smp:Unet": {"decoder_channels": [16, 8, 8, 8, 8]},
    "smp:FPN": {"pyramid_channels": 16, "segmentation_channels": 32},
}


@pytest.mark.parametrize("decoder", sorted(DECODERS))
def test_composes_with_core_and_smp_decoders(decoder: str) -> None:
    factory = geo_core.MODEL_FACTORIES.build("EncoderDecoderFactory")
    model = factory.build_model(
        "segmentation",
        backbone=TINY,
        backbone_in_chans=4,
        decoder=decoder,
        decoder_kwargs=DECODERS[decoder],
        num_classes=3,
    )
    out = model(torch.randn(2, 4, 64, 64)).output
    assert out.shape == (2, 3, 64, 64)
    out.mean().backward()


def test_one_training_step_through_the_segmentation_task() -> None:
    from geo_core.tasks import SemanticSegmentationTask

    task = SemanticSegmentationTask(
        model_factory="EncoderDecoderFactory",
        model_args={
            "backbone": TINY,
            "backbone_in_chans": 6,
            "decoder": "UperNetDecoder",
            "decoder_channels": 16,
            "num_classes": 2,
        },
        loss="ce",
        lr=1e-3,
    )
    before = {k: v.clone() for k, v in task.model.encoder.state_dict().items()}
    trainer = check_task(task)  # one fit step (and a validation batch) on 6-band 32x32 tiles
    assert any(not torch.equal(v, task.model.encoder.state_dict()[k]) for k, v in before.items())
    assert math.isfinite(float(trainer.callback_metrics.get("train/loss", torch.tensor(0.0))))
