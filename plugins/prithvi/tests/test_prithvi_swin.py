"""Prithvi Swin: forward, both checkpoint key conventions, bands and intervals, decoders and a training step."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import geo_core
import pytest
import torch
from geo_core import CheckpointError, ConfigError
from geo_core.testing import check_backbone, check_key_report
from geo_plugin_prithvi._swin_checkpoint import _unfold_order, mmseg_to_swin, swin_to_mmseg
from geo_plugin_prithvi._swin_variants import build_swin, expand_band_intervals

HLS6 = ["BLUE", "GREEN", "RED", "NIR_NARROW", "SWIR_1", "SWIR_2"]


def tiny(**kw: Any) -> Any:
    return build_swin("test_prithvi_swin", **kw).eval()


def random_model(seed: int = 0, **kw: Any) -> Any:
    torch.manual_seed(seed)
    model = tiny(**kw)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    return model


def _sd(model: Any) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _same(a: Any, b: Any, x: torch.Tensor) -> None:
    with torch.no_grad():
        for fa, fb in zip(a(x), b(x), strict=True):
            assert torch.equal(fa, fb)


@pytest.mark.parametrize(
    ("size", "grids"),
    [
        ((64, 48), [(16, 12), (8, 6), (4, 3), (2, 2)]),
        ((70, 50), [(18, 13), (9, 7), (5, 4), (3, 2)]),  # replicate-padded to 72x52, odd grids merge with padding
    ],
)
def test_feature_pyramid_shapes(size: tuple[int, int], grids: list[tuple[int, int]]) -> None:
    model = tiny()
    with torch.no_grad():
        feats = model(torch.randn(2, 6, *size))
    assert [tuple(f.shape) for f in feats] == [(2, c, *g) for c, g in zip([16, 32, 64, 128], grids, strict=True)]
    assert model.out_channels == [16, 32, 64, 128] and model.output_stride == 32 and model.output_format == "image"
    assert tiny(out_indices=[1, -1]).out_channels == [32, 128]


def test_conformance() -> None:
    check_backbone(geo_core.BACKBONES.build("prithvi:test_prithvi_swin"), in_channels=6, image_size=(64, 48))


def test_merge_order_conversion_matches_swin_concatenation() -> None:
    """A Swin reduction over [x(0,0), x(1,0), x(0,1), x(1,1)] equals the converted one over nn.Unfold's columns."""
    c = 3
    x = torch.randn(1, c, 2, 2)
    swin_cat = torch.cat([x[0, :, 0, 0], x[0, :, 1, 0], x[0, :, 0, 1], x[0, :, 1, 1]])
    unfold = torch.nn.functional.unfold(x, kernel_size=2, stride=2)[0, :, 0]
    w = torch.randn(5, 4 * c)
    assert torch.allclose(w @ swin_cat, _unfold_order(w) @ unfold)
    sd = _sd(random_model())
    back = swin_to_mmseg(mmseg_to_swin(sd))
    assert back.keys() == sd.keys() and all(torch.equal(back[k], sd[k]) for k in sd)
    assert "layers.0.blocks.1.attn.relative_position_bias_table" in mmseg_to_swin(sd)
    assert "layers.2.blocks.0.mlp.fc1.weight" in mmseg_to_swin(sd)


def test_mmseg_convention_under_a_prefix(tmp_path: Path) -> None:
    src = random_model()
    path = tmp_path / "mmseg.pt"
    torch.save(
        {
            "state_dict": {
                **{f"backbone.{k}": v for k, v in _sd(src).items()},
                "decode_head.conv_seg.weight": torch.zeros(2, 8, 1, 1),
            }
        },
        path,
    )
    _same(src, tiny(ckpt_path=path), torch.randn(1, 6, 64, 64))


def test_swin_convention_with_encoder_decoder_halves(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    src = random_model()
    swin = {f"encoder.{k}": v for k, v in mmseg_to_swin(_sd(src)).items()}
    extra = {
        "encoder.mask_token": torch.zeros(1, 1, 16),
        "encoder.norm.weight": torch.ones(128),
        "decoder.0.weight": torch.zeros(4, 4, 1, 1),
    }
    path = tmp_path / "swin.pt"
    torch.save({**swin, **extra}, path)
    _same(src, tiny(ckpt_path=path), torch.randn(1, 6, 64, 64))
    # Microsoft-style files have no per-stage output norms: those keep their identity init, logged
    no_norms = {k: v for k, v in swin.items() if not re.fullmatch(r"encoder\.layers\.\d\.norm\.\w+", k)}
    assert len(no_norms) == len(swin) - 8
    torch.save(no_norms, path)
    with caplog.at_level(logging.WARNING, logger="geo_plugin_prithvi"):
        model = tiny(ckpt_path=path)
    assert "stages.3.norm.weight is not in the Swin-convention checkpoint" in caplog.text
    assert torch.equal(model.stages[3].norm.weight, torch.ones(128))


def test_wrong_or_truncated_files_name_the_keys(tmp_path: Path) -> None:
    sd = _sd(random_model())
    path = tmp_path / "bad.pt"
    torch.save({k: v for k, v in sd.items() if not k.startswith("stages.2.blocks.1.")}, path)
    with pytest.raises(CheckpointError, match=r"13 missing keys \('stages\.2\.blocks\.1\.norm1\.weight'"):
        tiny(ckpt_path=path)
    check_key_report(lambda p: tiny(ckpt_path=p), sd, tmp_path, drop="stages.1.norm.bias", extra="stages.9.norm.weight")
    torch.save({"foo.weight": torch.ones(2)}, path)
    with pytest.raises(CheckpointError, match="is it a Prithvi Swin checkpoint"):
        tiny(ckpt_path=path)
    torch.save({**sd, "patch_embed.norm.weight": torch.ones(3)}, path)
    with pytest.raises(CheckpointError, match=r"shapes do not fit.*patch_embed\.norm\.weight: checkpoint \(3,\)"):
        tiny(ckpt_path=path)
    with pytest.raises(CheckpointError, match="publishes no Prithvi Swin weight file"):
        build_swin("prithvi_swin_B", pretrained=True)


def test_other_window_size_resizes_the_bias_tables(tmp_path: Path) -> None:
    path = tmp_path / "w4.pt"
    torch.save(_sd(random_model()), path)
    model = tiny(window_size=8, ckpt_path=path)
    assert model.stages[0].blocks[0].attn.w_msa.relative_position_bias_table.shape == (15 * 15, 1)


def test_bands_and_intervals(tmp_path: Path) -> None:
    assert expand_band_intervals(["RED", (6, 8), [10, 10]]) == ["RED", 6, 7, 8, 10]
    with pytest.raises(ConfigError, match="band interval"):
        expand_band_intervals([(3, 1)])
    src = random_model()
    path = tmp_path / "w.pt"
    torch.save(_sd(src), path)
    model = tiny(ckpt_path=path, bands=["RED", "GREEN", "BLUE", (0, 1)])
    w, w_src = model.patch_embed.projection.weight, src.patch_embed.projection.weight
    assert w.shape[1] == 5 and model.in_chans == 5
    for i, j in enumerate([2, 1, 0]):
        assert torch.equal(w[:, i], w_src[:, j])
    with pytest.raises(ConfigError, match="did you mean 'SWIR_1'"):
        tiny(bands=["RED", "SWIR1"])
    with pytest.raises(ConfigError, match="num_frames"):
        tiny(num_frames=2)
    # TerraTorch's timm-style overlay is ckpt_path, ignored with pretrained=False (as in timm)
    _same(src, tiny(pretrained_cfg_overlay={"file": str(path)}), torch.randn(1, 6, 32, 32))
    assert not torch.equal(
        tiny(pretrained=False, pretrained_cfg_overlay={"file": str(path)}).stages[0].norm.bias, src.stages[0].norm.bias
    )


DECODERS: list[tuple[str, dict[str, Any]]] = [
    ("UNetDecoder", {"channels": [16, 8, 8, 8]}),
    ("UperNetDecoder", {"channels": 16}),
    ("FCNDecoder", {"channels": 16}),
    ("ASPPSegmentationHead", {"channels": 8, "dilations": (1, 2)}),
    ("smp:Unet", {"decoder_channels": [16, 8, 8, 8, 8]}),
]


@pytest.mark.parametrize(("decoder", "kwargs"), DECODERS, ids=[d for d, _ in DECODERS])
def test_decoders_take_the_pyramid_directly(decoder: str, kwargs: dict[str, Any]) -> None:
    if decoder.startswith("smp:") and decoder not in geo_core.DECODERS:
        pytest.skip("geo-plugin-smp is not installed")
    model = geo_core.MODEL_FACTORIES.build("EncoderDecoderFactory").build_model(
        "segmentation",
        backbone="prithvi:test_prithvi_swin",
        decoder=decoder,
        decoder_kwargs=kwargs,
        num_classes=3,
    )
    out = model(torch.randn(2, 6, 70, 50)).output  # padded to 96x64 (stride 32), cropped back
    assert out.shape == (2, 3, 70, 50)
    out.mean().backward()


# Lightning 2.6 still calls a torch pytree API that torch 2.14 deprecates (FutureWarning inside lightning).
@pytest.mark.filterwarnings("ignore:`isinstance\\(treespec, LeafSpec\\)` is deprecated:FutureWarning")
def test_one_training_step(tmp_path: Path) -> None:
    import lightning.pytorch as pl
    from geo_core.tasks import SemanticSegmentationTask
    from geo_core.testing import TinyGeoDataModule

    task = SemanticSegmentationTask(
        model_factory="EncoderDecoderFactory",
        model_args={
            "backbone": "prithvi:test_prithvi_swin",
            "backbone_bands": HLS6,
            "decoder": "UperNetDecoder",
            "decoder_channels": 16,
            "num_classes": 2,
        },
    )
    trainer = pl.Trainer(
        max_steps=1,
        limit_val_batches=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=tmp_path,
        accelerator="cpu",
    )
    before = task.model.encoder.stages[2].blocks[1].attn.w_msa.qkv.weight.detach().clone()
    trainer.fit(task, datamodule=TinyGeoDataModule(num_samples=4, size=32, batch_size=2))
    assert trainer.global_step == 1
    assert not torch.equal(before, task.model.encoder.stages[2].blocks[1].attn.w_msa.qkv.weight)
