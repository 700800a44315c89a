"""EncoderDecoderFactory: reference shapes, routing, strictness, aux heads, padding and freezing."""

from __future__ import annotations

from typing import Any

import geo_core
import pytest
import torch
from geo_core.models import EncoderDecoderFactory, PixelWiseModel, ScalarOutputModel
from geo_core.testing import TinyCNNBackbone, TinyViTBackbone
from torch import nn

VIT_NECKS = [
    {"name": "SelectIndices", "indices": [0, 1, 2, 3]},
    {"name": "ReshapeTokensToImage"},
    {"name": "LearnedInterpolateToPyramidal"},
]


def build(task: str = "segmentation", **kwargs: Any) -> PixelWiseModel | ScalarOutputModel:
    kwargs.setdefault("backbone", "tiny_cnn")
    kwargs.setdefault("decoder", "UNetDecoder")
    if task in ("segmentation", "classification"):
        kwargs.setdefault("num_classes", 2)
    return EncoderDecoderFactory().build_model(task, **kwargs)


@pytest.fixture(scope="module")
def x224() -> torch.Tensor:
    return torch.randn(1, 6, 224, 224)


@pytest.mark.parametrize(
    ("task", "expected"),
    [("segmentation", (1, 2, 224, 224)), ("regression", (1, 224, 224)), ("classification", (1, 2))],
)
@pytest.mark.parametrize("style", ["cnn", "vit"])
def test_reference_shapes(task: str, expected: tuple[int, ...], style: str, x224: torch.Tensor) -> None:
    decoder = "IdentityDecoder" if task == "classification" else "UNetDecoder"
    if style == "cnn":
        model = build(task, decoder=decoder, backbone_in_channels=6)
    else:
        model = build(
            task, backbone="tiny_vit", decoder=decoder, backbone_patch_size=16, backbone_img_size=224, necks=VIT_NECKS
        )
    model.eval()
    with torch.no_grad():
        out = model(x224)
    assert isinstance(out, geo_core.ModelOutput)
    assert tuple(out.output.shape) == expected


def test_factory_is_registered_and_accepts_qualified_names() -> None:
    factory = geo_core.MODEL_FACTORIES.build("EncoderDecoderFactory")
    assert isinstance(factory, geo_core.ModelFactory)
    model = factory.build_model(
        "segmentation", backbone="core:tiny_cnn", decoder="core:FCNDecoder", decoder_channels=8, num_classes=3
    )
    assert model(torch.randn(2, 6, 32, 32)).output.shape == (2, 3, 32, 32)


def test_ready_modules_and_classes() -> None:
    model = build(backbone=TinyCNNBackbone(in_channels=3), decoder=geo_core.DECODERS.get("UNetDecoder"))
    assert model(torch.randn(1, 3, 32, 32)).output.shape == (1, 2, 32, 32)


def test_prefix_routing_splits_on_the_known_prefix_only() -> None:
    seen: dict[str, Any] = {}

    class Recorder(TinyCNNBackbone):
        def __init__(self, head_dim: int = 0, decoder_like: int = 0, **kw: Any) -> None:
            seen.update(head_dim=head_dim, decoder_like=decoder_like)
            super().__init__(**kw)

    model = build(
        backbone=Recorder,
        backbone_head_dim=7,
        backbone_decoder_like=3,
        decoder_channels=[8, 8, 8, 8],
        head_dropout=0.1,
        head_channel_list=[4],
    )
    assert seen == {"head_dim": 7, "decoder_like": 3}
    assert model.decoder.out_channels == 8
    assert isinstance(model.head.dropout, nn.Dropout) and model.head.out.in_channels == 4


def test_explicit_and_flat_kwargs_merge_but_not_twice() -> None:
    model = build(backbone_kwargs={"in_channels": 3}, backbone_out_channels=[4, 4, 4, 4])
    assert model.encoder.out_channels == [4, 4, 4, 4] and model.encoder.in_channels == 3
    with pytest.raises(geo_core.ConfigError, match="given twice"):
        build(backbone_kwargs={"in_channels": 3}, backbone_in_channels=4)


@pytest.mark.parametrize(
    ("kwargs", "name", "hint"),
    [
        ({"num_class": 2}, "num_class", "num_classes"),
        ({"backbone_in_chanels": 3}, "backbone_in_chanels", "backbone_in_channels"),
        ({"decoder_channel": [8] * 4}, "decoder_channel", "decoder_channels"),
        ({"head_droput": 0.1}, "head_droput", "head_dropout"),
        ({"necks_": 1}, "necks_", "necks"),
        ({"backone_in_channels": 3}, "backone_in_channels", "backbone_in_channels"),
        ({"decoders_channels": 3}, "decoders_channels", "decoder_channels"),
    ],
)
def test_unused_arguments_are_named_with_a_suggestion(kwargs: dict[str, Any], name: str, hint: str) -> None:
    with pytest.raises(geo_core.UnusedArgumentError) as info:
        build(**kwargs)
    assert isinstance(info.value, ValueError)
    assert name in str(info.value) and f"did you mean {hint!r}" in str(info.value)


def test_head_kwargs_for_a_decoder_that_includes_its_head_are_unused() -> None:
    with pytest.raises(geo_core.UnusedArgumentError, match=r"includes its head.*head_dropout"):
        build(decoder="LinearDecoder", head_dropout=0.5)


def test_unknown_and_misspelt_names() -> None:
    with pytest.raises(geo_core.UnknownComponentError, match="UNetDecoder"):
        build(decoder="UnetDecoderr")
    with pytest.raises(geo_core.UnknownComponentError, match="tiny_cnn"):
        build(backbone="tiny_cn")
    with pytest.raises(geo_core.ConfigError, match="segmentation"):
        build("segmentatoin")


def test_num_classes_required_and_task_aliases() -> None:
    with pytest.raises(geo_core.ConfigError, match="num_classes"):
        EncoderDecoderFactory().build_model("classification", backbone="tiny_cnn", decoder="IdentityDecoder")
    model = build("semantic_segmentation", num_classes=2)
    assert model.task == "segmentation"


def test_backbone_without_out_channels() -> None:
    with pytest.raises(geo_core.ConfigError, match="out_channels"):
        build(backbone=nn.Conv2d(6, 4, 3))


def test_aux_decoders() -> None:
    model = build(
        decoder="UNetDecoder",
        aux_decoders=[
            {"name": "aux_fcn", "decoder": "FCNDecoder", "decoder_args": {"decoder_channels": 8, "head_dropout": 0.1}},
            {"name": "aux_lin", "decoder": "LinearDecoder"},
        ],
    )
    out = model(torch.randn(2, 6, 32, 48))
    assert set(out.auxiliary_heads) == {"aux_fcn", "aux_lin"}
    assert all(v.shape == (2, 2, 32, 48) for v in out.auxiliary_heads.values())
    with pytest.raises(geo_core.UnusedArgumentError, match="chanels"):
        build(aux_decoders=[{"name": "a", "decoder": "FCNDecoder", "decoder_args": {"decoder_chanels": 8}}])
    with pytest.raises(geo_core.UnusedArgumentError, match="bogus"):
        build(aux_decoders=[{"name": "a", "decoder": "FCNDecoder", "decoder_args": {"bogus": 8}}])
    with pytest.raises(geo_core.ConfigError, match="'name' and 'decoder'"):
        build(aux_decoders=[{"decoder": "FCNDecoder"}])


def test_aux_decoders_accept_objects_and_scalar_tasks() -> None:
    class Aux:
        name, decoder, decoder_args = "extra", "IdentityDecoder", None

    out = build("classification", decoder="IdentityDecoder", aux_decoders=[Aux()])(torch.randn(2, 6, 32, 32))
    assert out.output.shape == (2, 2) and out.auxiliary_heads["extra"].shape == (2, 2)


def test_heads_options() -> None:
    m = build(
        "regression", decoder="IdentityDecoder", head_final_act="Sigmoid", head_channel_list=[8], head_activation="GELU"
    )
    y = m(torch.randn(2, 6, 32, 32)).output
    assert y.shape == (2, 32, 32) and bool(((y >= 0) & (y <= 1)).all())
    assert any(isinstance(mod, nn.GELU) for mod in m.head.modules())
    m = build("classification", decoder="IdentityDecoder", head_dim_list=[8], head_linear_after_pool=False)
    assert m(torch.randn(2, 6, 32, 32)).output.shape == (2, 2)
    with pytest.raises(ValueError, match="activation"):
        build(decoder="IdentityDecoder", head_activation="NotAnActivation")


def test_scalar_regression_outputs() -> None:
    assert build("scalar_regression", decoder="IdentityDecoder")(torch.randn(2, 6, 32, 32)).output.shape == (2,)
    m = build("scalar_regression", decoder="IdentityDecoder", num_classes=3)
    assert m(torch.randn(2, 6, 32, 32)).output.shape == (2, 3)


@pytest.mark.parametrize("size", [(50, 50), (33, 47), (8, 8)])
@pytest.mark.parametrize("backbone", ["tiny_cnn", "tiny_vit"])
def test_padding_makes_any_size_work(size: tuple[int, int], backbone: str) -> None:
    necks = VIT_NECKS if backbone == "tiny_vit" else None
    model = build(backbone=backbone, necks=necks)
    assert model.pad_multiple == (16 if backbone == "tiny_cnn" else 8)
    assert model(torch.randn(2, 6, *size)).output.shape == (2, 2, *size)


def test_padding_is_cropped_back_exactly() -> None:
    """A 1x1-conv model has no receptive field: padded output cropped back equals the unpadded computation."""

    class PointBackbone(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(6, 4, 1)
            self.out_channels = [4]
            self.patch_size = 16

        def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
            return [self.conv(x)]

    model = build(backbone=PointBackbone(), decoder="IdentityDecoder").eval()
    x = torch.randn(1, 6, 20, 18)
    with torch.no_grad():
        y = model(x).output
        ref = model.head(model.encoder(x)[0])
    assert torch.allclose(y, ref, atol=1e-6)


def test_padding_off_gives_a_clear_error() -> None:
    model = build(padding="none")
    assert model(torch.randn(1, 6, 32, 32)).output.shape == (1, 2, 32, 32)
    with pytest.raises(geo_core.InputDataError, match=r"multiples of 16.*padding"):
        model(torch.randn(1, 6, 250, 250))
    assert build(padding=False).padding == "none"
    with pytest.raises(geo_core.ConfigError, match="padding"):
        build(padding="mirror")


def test_impossible_inputs_are_named() -> None:
    model = build()
    with pytest.raises(geo_core.InputDataError, match="expects 6 input bands but the input has 3"):
        model(torch.randn(1, 3, 32, 32))
    with pytest.raises(geo_core.InputDataError, match=r"\(B, C, H, W\)"):
        model(torch.randn(6, 32, 32))


def test_fixed_size_backbone_gets_a_clear_error() -> None:
    vit = TinyViTBackbone()
    vit.patch_embed.strict_img_size = True  # type: ignore[assignment]  # timm's flag for fixed-size ViTs
    vit.patch_embed.img_size = (64, 64)  # type: ignore[assignment]
    model = build(backbone=vit, necks=VIT_NECKS)
    assert model(torch.randn(1, 6, 60, 58)).output.shape == (1, 2, 60, 58)  # padding reaches 64x64
    with pytest.raises(geo_core.InputDataError, match=r"only takes 64x64 inputs, got 70x72 \(padded to 72x72\)"):
        model(torch.randn(1, 6, 70, 72))


def test_rescale_off_keeps_decoder_resolution() -> None:
    model = build(decoder="IdentityDecoder", rescale=False)
    assert model(torch.randn(1, 6, 64, 64)).output.shape == (1, 2, 4, 4)


def test_forward_kwargs_reach_a_backbone_that_wants_them() -> None:
    got: dict[str, Any] = {}

    class Wants(TinyViTBackbone):
        def forward(self, x: torch.Tensor, temporal_coords: Any = None) -> list[torch.Tensor]:
            got["temporal_coords"] = temporal_coords
            return super().forward(x)

    model = build(backbone=Wants(), necks=VIT_NECKS)
    model(torch.randn(1, 6, 32, 32), temporal_coords="t", location_coords="ignored")
    assert got == {"temporal_coords": "t"}
    build()(torch.randn(1, 6, 32, 32), temporal_coords="dropped for a backbone without the argument")


def test_freeze_encoder_and_decoder_keep_eval_mode() -> None:
    model = build(aux_decoders=[{"name": "a", "decoder": "FCNDecoder", "decoder_args": {"decoder_channels": 8}}])
    model.freeze_encoder()
    model.train()
    assert not model.encoder.training and model.decoder.training
    assert not any(p.requires_grad for p in model.encoder.parameters())
    assert all(p.requires_grad for p in model.decoder.parameters())
    model.freeze_decoder()
    model.train()
    assert not model.decoder.training and not model.head.training and not model.aux_heads["a"].training
    assert not any(p.requires_grad for p in model.aux_heads.parameters())
    bn = model.encoder.stages[0][1]
    before = bn.running_mean.clone()
    model(torch.randn(2, 6, 32, 32))
    assert torch.equal(bn.running_mean, before)


def test_names_served_by_several_sources_and_builder_errors() -> None:
    """``tiny_cnn`` is served by core and the fixture plugin: plain names follow priority, qualified ids pick."""
    assert isinstance(build(backbone="tiny_cnn").encoder, TinyCNNBackbone)
    model = build(backbone="fixture:tiny_cnn", backbone_in_channels=6, decoder="UNetDecoder")
    assert type(model.encoder).__name__ == "FixtureCNN" and model.pad_multiple == 1
    assert model(torch.randn(1, 6, 30, 30)).output.shape == (1, 2, 30, 30)
    from geo_fixture_plugin._backbones import BuilderFailure

    with pytest.raises(BuilderFailure):
        build(backbone="fixture:failing_builder")
