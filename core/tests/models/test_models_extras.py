"""Temporal wrapper, LoRA through peft, state-dict round trips and FullModelFactory."""

from __future__ import annotations

import builtins
from pathlib import Path
from typing import Any

import geo_core
import pytest
import torch
from geo_core.models import EncoderDecoderFactory, FullModel, FullModelFactory, load_state_dict, save_state_dict
from geo_core.models._temporal import TemporalWrapper
from geo_core.testing import TinyCNNBackbone, TinyViTBackbone
from torch import nn

VIT_NECKS = [{"name": "ReshapeTokensToImage"}, {"name": "LearnedInterpolateToPyramidal"}]


def build(task: str = "segmentation", **kwargs: Any) -> Any:
    kwargs.setdefault("backbone", "tiny_cnn")
    kwargs.setdefault("decoder", "UNetDecoder")
    if task in ("segmentation", "classification"):
        kwargs.setdefault("num_classes", 2)
    return EncoderDecoderFactory().build_model(task, **kwargs)


# -- temporal ---------------------------------------------------------------
@pytest.mark.parametrize("pooling", ["mean", "max", "concat", "diff"])
def test_temporal_pooling_cnn(pooling: str) -> None:
    model = build(backbone_use_temporal=True, backbone_temporal_pooling=pooling, backbone_n_timestamps=2)
    widths = model.encoder.out_channels
    assert widths == ([16, 32, 64, 128] if pooling == "concat" else [8, 16, 32, 64])
    assert model(torch.randn(2, 6, 2, 32, 48)).output.shape == (2, 2, 32, 48)


def test_temporal_pooling_values() -> None:
    enc = TinyCNNBackbone(in_channels=2).eval()
    x = torch.randn(1, 2, 3, 16, 16)
    per_frame = [enc(x[:, :, t])[0] for t in range(3)]
    with torch.no_grad():
        assert torch.allclose(TemporalWrapper(enc, "mean")(x)[0], torch.stack(per_frame).mean(0), atol=1e-6)
        assert torch.allclose(TemporalWrapper(enc, "max")(x)[0], torch.stack(per_frame).amax(0), atol=1e-6)
        cat = TemporalWrapper(enc, "concat", n_timestamps=3)(x)[0]
        assert torch.allclose(cat[:, 8:16], per_frame[1], atol=1e-6)
        diff = TemporalWrapper(enc, "diff")(x[:, :, :2])[0]
        assert torch.allclose(diff, per_frame[1] - per_frame[0], atol=1e-6)


def test_temporal_tokens_through_necks() -> None:
    model = build(
        backbone="tiny_vit",
        necks=VIT_NECKS,
        backbone_use_temporal=True,
        backbone_temporal_pooling="concat",
        backbone_n_timestamps=3,
    )
    assert model.encoder.out_channels == [96] * 4
    assert model(torch.randn(1, 6, 3, 32, 16)).output.shape == (1, 2, 32, 16)


def test_temporal_wrapper_forwards_only_accepted_kwargs() -> None:
    model = build(backbone_use_temporal=True)
    out = model(torch.randn(1, 6, 2, 16, 16), location_coords=torch.zeros(1, 2))  # TinyCNN takes no kwargs
    assert out.output.shape == (1, 2, 16, 16)


def test_temporal_errors() -> None:
    with pytest.raises(geo_core.ConfigError, match="n_timestamps"):
        build(backbone_use_temporal=True, backbone_temporal_pooling="concat")
    with pytest.raises(geo_core.ConfigError, match="mean, max, concat or diff"):
        build(backbone_use_temporal=True, backbone_temporal_pooling="median")
    with pytest.raises(geo_core.ConfigError, match="use_temporal"):
        build(backbone_temporal_pooling="max")
    model = build(backbone_use_temporal=True, backbone_temporal_pooling="diff")
    with pytest.raises(geo_core.InputDataError, match="exactly 2 frames"):
        model(torch.randn(1, 6, 3, 16, 16))
    with pytest.raises(geo_core.InputDataError, match=r"\(B, C, T, H, W\)"):
        model(torch.randn(1, 6, 16, 16))
    with pytest.raises(geo_core.InputDataError, match="built for 2 frames"):
        build(backbone_use_temporal=True, backbone_temporal_pooling="concat", backbone_n_timestamps=2)(
            torch.randn(1, 6, 3, 16, 16)
        )


# -- PEFT ---------------------------------------------------------------------
def test_lora_only_lora_parameters_train_in_the_encoder() -> None:
    model = build(
        backbone="tiny_vit",
        necks=VIT_NECKS,
        peft_config={
            "method": "LORA",
            "replace_qkv": "qkv",
            "peft_config_kwargs": {"target_modules": ["q_linear", "v_linear"], "r": 4},
        },
    )
    trainable = {n for n, p in model.encoder.named_parameters() if p.requires_grad}
    assert trainable and all("lora_" in n for n in trainable)
    assert any("q_linear.lora_A" in n for n in trainable) and not any("k_linear.lora" in n for n in trainable)
    assert all(p.requires_grad for p in model.decoder.parameters())
    out = model(torch.randn(2, 6, 32, 48)).output
    assert out.shape == (2, 2, 32, 48)
    out.mean().backward()
    assert all(p.grad is not None for n, p in model.encoder.named_parameters() if "lora_B" in n)


def test_replace_qkv_keeps_the_function() -> None:
    from geo_core.models._peft import replace_qkv_layers

    vit = TinyViTBackbone(in_channels=3).eval()
    x = torch.randn(1, 3, 16, 16)
    with torch.no_grad():
        before = vit(x)[-1]
        assert replace_qkv_layers(vit, "qkv") == 4
        assert torch.allclose(vit(x)[-1], before, atol=1e-5)
    with pytest.raises(geo_core.ConfigError, match=r"no nn.Linear"):
        replace_qkv_layers(vit, "fused")


def test_peft_config_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(geo_core.UnusedArgumentError, match=r"peft_config.rank"):
        build(peft_config={"method": "LORA", "rank": 4})
    with pytest.raises(geo_core.ConfigError, match="unknown peft method"):
        build(peft_config={"method": "NOPE"})
    with pytest.raises(geo_core.ConfigError, match="peft_config_kwargs"):
        build(peft_config={"method": "LORA", "peft_config_kwargs": {"bogus": 1}})
    real_import = builtins.__import__

    def no_peft(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "peft" or name.startswith("peft."):
            raise ImportError("No module named 'peft'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_peft)
    with pytest.raises(geo_core.MissingDependencyError, match=r"pip install 'geo-core\[peft\]'"):
        build(peft_config={"method": "LORA"})


# -- state dicts ----------------------------------------------------------------
def test_state_dict_round_trip(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = build(aux_decoders=[{"name": "a", "decoder": "LinearDecoder"}])
    model(torch.randn(2, 6, 32, 32))  # move BatchNorm statistics
    path = save_state_dict(model, tmp_path / "sub" / "model.pt")
    assert path.is_file() and not list(path.parent.glob(".*tmp*"))
    torch.manual_seed(1)
    other = build(aux_decoders=[{"name": "a", "decoder": "LinearDecoder"}])
    load_state_dict(other, path)
    a, b = model.state_dict(), other.state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    model.eval(), other.eval()
    x = torch.randn(1, 6, 32, 32)
    assert torch.equal(model(x).output, other(x).output)


def test_state_dict_lightning_checkpoint_and_errors(tmp_path: Path) -> None:
    model = build(decoder="IdentityDecoder")
    ckpt = tmp_path / "task.ckpt"
    torch.save({"state_dict": {f"model.{k}": v for k, v in model.state_dict().items()}, "epoch": 3}, ckpt)
    load_state_dict(build(decoder="IdentityDecoder"), ckpt)
    with pytest.raises(geo_core.CheckpointError, match="no such checkpoint"):
        load_state_dict(model, tmp_path / "missing.pt")
    bad = tmp_path / "truncated.pt"
    bad.write_bytes((tmp_path / "task.ckpt").read_bytes()[:100])
    with pytest.raises(geo_core.CheckpointError, match="cannot read"):
        load_state_dict(model, bad)
    with pytest.raises(geo_core.CheckpointError, match="do not match"):
        load_state_dict(build(decoder="UNetDecoder"), ckpt)
    with pytest.raises(geo_core.CheckpointError, match=r"missing.*aux_heads"):
        load_state_dict(
            build(decoder="IdentityDecoder", aux_decoders=[{"name": "a", "decoder": "LinearDecoder"}]), ckpt
        )
    load_state_dict(
        build(decoder="IdentityDecoder", aux_decoders=[{"name": "a", "decoder": "LinearDecoder"}]), ckpt, strict=False
    )
    unsafe = tmp_path / "unsafe.pt"
    torch.save({"state_dict": model.state_dict(), "obj": _Custom()}, unsafe)
    with pytest.raises(geo_core.CheckpointError, match="weights_only=False"):
        load_state_dict(model, unsafe)
    with pytest.warns(UserWarning, match="only for a file you trust"):  # the explicit opt-in is warned
        load_state_dict(model, unsafe, weights_only=False)


class _Custom:
    pass


# -- FullModelFactory ---------------------------------------------------------
class _EncDec(nn.Module):
    def __init__(self, channels: int = 6, classes: int = 2, returns: str = "tensor") -> None:
        super().__init__()
        self.encoder = nn.Sequential(nn.Conv2d(channels, 4, 3, stride=2, padding=1), nn.ReLU())
        self.decoder = nn.Conv2d(4, classes, 1)
        self.returns = returns

    def forward(self, x: torch.Tensor) -> Any:
        y = self.decoder(self.encoder(x))
        if self.returns == "tuple":
            return (y, None)
        if self.returns == "dict":
            return {"output": y, "aux": y * 2}
        if self.returns == "bad":
            return "nope"
        return y


@pytest.fixture
def registered_model() -> Any:
    geo_core.MODELS.register(_EncDec, name="test_encdec")
    yield "test_encdec"
    geo_core.MODELS.unregister("test_encdec")


@pytest.mark.parametrize("returns", ["tensor", "tuple", "dict"])
def test_full_model_factory(registered_model: str, returns: str) -> None:
    factory = geo_core.MODEL_FACTORIES.build("FullModelFactory")
    model = factory.build_model("segmentation", model=registered_model, classes=3, returns=returns)
    assert isinstance(model, FullModel) and isinstance(model, geo_core.Model)
    out = model(torch.randn(2, 6, 16, 16), ignored="kwarg")
    assert out.output.shape == (2, 3, 16, 16)
    assert set(out.auxiliary_heads) == ({"aux"} if returns == "dict" else set())
    model.freeze_encoder()
    model.train()
    assert not model.model.encoder.training and model.model.decoder.training


def test_full_model_factory_errors(registered_model: str) -> None:
    factory = FullModelFactory()
    with pytest.raises(geo_core.UnusedArgumentError, match=r"clases.*did you mean 'classes'"):
        factory.build_model("segmentation", model=registered_model, clases=3)
    with pytest.raises(TypeError, match="FullModel needs"):
        factory.build_model("segmentation", model=registered_model, returns="bad")(torch.randn(1, 6, 8, 8))
    with pytest.raises(geo_core.UnusedArgumentError):
        factory.build_model("segmentation", model=nn.Identity(), classes=3)
    plain = factory.build_model("classification", model=nn.Sequential(nn.Flatten(), nn.LazyLinear(2)))
    assert plain(torch.randn(2, 6, 4, 4)).output.shape == (2, 2)
    with pytest.raises(NotImplementedError, match="encoder"):
        plain.freeze_encoder()


def test_full_model_factory_lora_on_the_encoder(registered_model: str) -> None:
    model = FullModelFactory().build_model(
        "segmentation",
        model=registered_model,
        peft_config={"method": "LORA", "peft_config_kwargs": {"target_modules": ["0"], "r": 2}},
    )
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert all("lora_" in n or ".decoder." in n for n in trainable)
    assert any("lora_" in n for n in trainable)
