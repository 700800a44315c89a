"""SMPModelFactory: every architecture on 128 x 128 batches of two, freezing, heads, errors."""

import geo_core
import pytest
import torch
from geo_core import ConfigError

# A tiny timm encoder (83k parameters) and narrow decoders keep each architecture well under a second.
ENCODER = "tu-test_efficientnet"
SMALL = {
    "Unet": dict(decoder_channels=(16, 8, 8, 8, 8)),
    "UnetPlusPlus": dict(decoder_channels=(16, 8, 8, 8, 8)),
    "MAnet": dict(decoder_channels=(16, 8, 8, 8, 8), decoder_pab_channels=8),
    "Linknet": {},
    "FPN": dict(decoder_pyramid_channels=16, decoder_segmentation_channels=32),
    "PSPNet": dict(psp_out_channels=16),
    "PAN": dict(decoder_channels=8),
    "DeepLabV3": dict(decoder_channels=16),
    "DeepLabV3Plus": dict(decoder_channels=16),
    "UPerNet": dict(decoder_channels=16),
    "Segformer": dict(decoder_segmentation_channels=16),
}
_CACHE: dict[str, geo_core.Model] = {}


def _model(arch: str) -> geo_core.Model:
    if arch not in _CACHE:
        factory = geo_core.MODEL_FACTORIES.build("smp:SMPModelFactory")
        _CACHE[arch] = factory.build_model(
            "segmentation", arch=arch, backbone=ENCODER, in_channels=6, num_classes=3, **SMALL[arch]
        )
    return _CACHE[arch]


@pytest.mark.parametrize("arch", sorted(SMALL))
def test_architecture_trains_on_128px_batch_of_two(arch: str) -> None:
    model = _model(arch).train()
    out = model(torch.randn(2, 6, 128, 128))
    assert isinstance(out, geo_core.ModelOutput)
    assert out.output.shape == (2, 3, 128, 128)
    out.output.mean().backward()
    assert all(p.grad is not None for p in model.decoder.parameters())


@pytest.mark.parametrize("arch", ["DeepLabV3", "DeepLabV3Plus", "UPerNet", "PAN"])
def test_batch_of_one_in_training_is_a_clear_error(arch: str) -> None:
    model = _model(arch).train()
    with pytest.raises(ValueError, match="batch of one sample"):
        model(torch.randn(1, 6, 128, 128))
    model.eval()
    with torch.no_grad():
        assert model(torch.randn(1, 6, 128, 128)).output.shape == (1, 3, 128, 128)


def test_dpt_on_a_timm_vit() -> None:
    factory = geo_core.MODEL_FACTORIES.build("smp:SMPModelFactory")
    model = factory.build_model(
        "segmentation",
        arch="dpt",
        backbone="smp:tu-vit_tiny_patch16_224",
        in_channels=6,
        num_classes=2,
        decoder_intermediate_channels=(16, 16, 16, 16),
        decoder_fusion_channels=16,
    )
    out = model(torch.randn(2, 6, 128, 128))
    assert out.output.shape == (2, 2, 128, 128)
    out.output.mean().backward()
    with pytest.raises(ConfigError, match="ViT-style timm encoders"):
        factory.build_model("segmentation", arch="DPT", backbone="resnet18", num_classes=2)


def test_freezing_aux_head_and_regression(tmp_path) -> None:
    factory = geo_core.MODEL_FACTORIES.build("smp:SMPModelFactory")
    model = factory.build_model(
        "segmentation",
        arch="FPN",
        backbone=ENCODER,
        num_classes=2,
        in_channels=4,
        aux_params={"classes": 5},
        freeze_encoder=True,
        **SMALL["FPN"],
    )
    model.train()
    assert not model.encoder.training
    assert all(not p.requires_grad for p in model.encoder.parameters())
    assert model.decoder.training
    out = model(torch.randn(2, 4, 64, 64))
    assert out.auxiliary_heads["classification"].shape == (2, 5)
    model.freeze_decoder()
    model.train()
    assert not model.decoder.training

    reg = factory.build_model("regression", arch="Unet", backbone=ENCODER, **SMALL["Unet"])
    assert reg(torch.randn(2, 3, 64, 64)).output.shape == (2, 64, 64)


def test_backbone_weights_are_loaded(tmp_path) -> None:
    factory = geo_core.MODEL_FACTORIES.build("smp:SMPModelFactory")
    src = geo_core.BACKBONES.build(f"smp:{ENCODER}")
    torch.save(src.encoder.state_dict(), tmp_path / "enc.pt")
    model = factory.build_model(
        "segmentation",
        arch="Linknet",
        backbone=ENCODER,
        num_classes=2,
        in_channels=6,
        backbone_ckpt_path=tmp_path / "enc.pt",
    )
    a, b = src.encoder.state_dict(), model.encoder.state_dict()
    key = next(k for k in a if k.endswith("bn1.weight"))
    torch.testing.assert_close(a[key], b[key])


def test_input_size_must_fit_the_encoder() -> None:
    with pytest.raises(ValueError, match="multiples of 32"):
        _model("FPN")(torch.randn(2, 6, 100, 100))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(task="classification", num_classes=2), "pixel-wise"),
        (dict(task="segmentation", arch="Nope", num_classes=2), "unknown smp architecture"),
        (dict(task="segmentation", num_classes=2, pretrained="nope"), "has no weights 'nope'"),
        (dict(task="segmentation", num_classes=2, encoder_weights="bogus"), "has no weights 'bogus'"),
        (dict(task="segmentation"), "num_classes"),
        (dict(task="regression", num_classes=3), "one channel"),
    ],
)
def test_configuration_errors(kwargs: dict, match: str) -> None:
    factory = geo_core.MODEL_FACTORIES.build("smp:SMPModelFactory")
    with pytest.raises(ConfigError, match=match):
        factory.build_model(backbone="resnet18", **kwargs)
    with pytest.raises(ConfigError, match="needs backbone"):
        factory.build_model("segmentation", num_classes=2)
