"""smp encoders as backbones: a sample built with random weights, local weights, errors."""

import geo_core
import pytest
import torch
from geo_core import CheckpointError, ConfigError


@pytest.mark.parametrize("name", ["resnet18", "efficientnet-b0", "mit_b0", "tu-test_convnext"])
def test_sample_encoders_with_six_bands(name: str) -> None:
    net = geo_core.BACKBONES.build(f"smp:{name}", in_channels=6)
    feats = net(torch.randn(1, 6, 64, 64))
    assert [f.shape[1] for f in feats] == net.out_channels
    assert [64 // f.shape[-1] for f in feats] == net.strides
    if not name.startswith("tu-"):
        meta = geo_core.BACKBONES.info(f"smp:{name}").metadata
        assert meta["out_channels"] == net.out_channels
        assert meta["strides"] == net.strides


def test_depth_limits_the_stages() -> None:
    net = geo_core.BACKBONES.build("smp:resnet18", depth=3)
    assert net.out_channels == [64, 64, 128]
    assert len(net(torch.randn(1, 3, 32, 32))) == 3
    with pytest.raises(ConfigError, match="depth must be between 1 and 5"):
        geo_core.BACKBONES.build("smp:resnet18", depth=6)


def test_unknown_weights_name_is_refused() -> None:
    with pytest.raises(ConfigError, match="has no weights 'nope'; choose one of imagenet, ssl, swsl"):
        geo_core.BACKBONES.build("smp:resnet18", pretrained="nope")


def test_local_weights_adapt_the_stem(tmp_path) -> None:
    torch.manual_seed(0)
    rgb = geo_core.BACKBONES.build("smp:tu-test_resnet", depth=2)
    path = tmp_path / "test_resnet.pt"
    torch.save(rgb.encoder.state_dict(), path)
    six = geo_core.BACKBONES.build("smp:tu-test_resnet", depth=2, in_channels=6, ckpt_path=path)
    a, b = rgb.encoder.state_dict(), six.encoder.state_dict()
    stem = next(k for k, v in a.items() if v.ndim == 4)
    assert b[stem].shape[1] == 6
    torch.testing.assert_close(b[stem][:, 3:], a[stem] * 0.5)
    for k in a:
        if k != stem:
            torch.testing.assert_close(a[k], b[k], msg=k)


def test_weights_from_a_lightning_checkpoint_of_a_whole_model(tmp_path) -> None:
    torch.manual_seed(1)
    src = geo_core.BACKBONES.build("smp:tu-test_efficientnet", in_channels=4)
    sd = {f"model.encoder.{k}": v for k, v in src.state_dict().items()}
    sd["model.decoder.weight"] = torch.zeros(1)
    path = tmp_path / "run.ckpt"
    torch.save({"state_dict": sd, "epoch": 3}, path)
    dst = geo_core.BACKBONES.build("smp:tu-test_efficientnet", in_channels=4, ckpt_path=path)
    for (k, a), b in zip(src.state_dict().items(), dst.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, msg=k)


def test_bad_weight_files(tmp_path) -> None:
    with pytest.raises(CheckpointError, match="not found"):
        geo_core.BACKBONES.build("smp:resnet18", ckpt_path=tmp_path / "missing.pt")
    other = tmp_path / "other.pt"
    torch.save({"conv.weight": torch.zeros(3, 3, 1, 1)}, other)
    with pytest.raises(CheckpointError, match="missing from the file"):
        geo_core.BACKBONES.build("smp:tu-test_resnet", ckpt_path=other)


def test_smp_backbone_feeds_an_smp_decoder() -> None:
    net = geo_core.BACKBONES.build("smp:tu-test_convnext", in_channels=6)
    assert net.strides == [4, 8, 16, 32]  # transformer-style: no stride-2 stage
    dec = geo_core.DECODERS.build("smp:Segformer", net.out_channels, segmentation_channels=16)
    assert dec(net(torch.randn(2, 6, 64, 64))).shape == (2, 16, 16, 16)


def test_encoder_decoder_factory_with_smp_parts_and_local_weights(tmp_path) -> None:
    src = geo_core.BACKBONES.build("smp:tu-test_efficientnet")
    torch.save(src.encoder.state_dict(), tmp_path / "enc.pt")
    factory = geo_core.MODEL_FACTORIES.build("EncoderDecoderFactory")
    model = factory.build_model(
        "segmentation",
        backbone="smp:tu-test_efficientnet",
        decoder="smp:UPerNet",
        num_classes=2,
        backbone_in_channels=6,
        backbone_ckpt_path=str(tmp_path / "enc.pt"),
        decoder_decoder_channels=16,
    )
    out = model(torch.randn(2, 6, 64, 64))
    assert out.output.shape == (2, 2, 64, 64)
    a, b = src.encoder.state_dict(), model.encoder.encoder.state_dict()
    key = next(k for k, v in a.items() if v.ndim == 1 and k.endswith("weight"))
    torch.testing.assert_close(a[key], b[key])


def test_safetensors_weights(tmp_path) -> None:
    from safetensors.torch import save_file

    src = geo_core.BACKBONES.build("smp:tu-test_resnet", depth=2)
    save_file({k: v.contiguous() for k, v in src.encoder.state_dict().items()}, str(tmp_path / "w.safetensors"))
    dst = geo_core.BACKBONES.build("smp:tu-test_resnet", depth=2, ckpt_path=tmp_path / "w.safetensors")
    for k, v in src.state_dict().items():
        torch.testing.assert_close(v, dst.state_dict()[k], msg=k)


@pytest.mark.parametrize(
    ("name", "kwargs", "needle"),
    [
        ("smp:resnet18", {"backbone_in_chanels": 6}, "'backbone_in_chanels' (did you mean 'backbone_in_channels'?)"),
        ("smp:resnet18", {"backbone_drop_path_rate": 0.1}, "'backbone_drop_path_rate'"),  # smp would drop it silently
        ("smp:tu-resnet18", {"backbone_drop_path_rat": 0.1}, "(did you mean 'backbone_drop_path_rate'?)"),
        ("smp:tu-resnet18", {"backbone_in_chanels": 6}, "(did you mean 'backbone_in_channels'?)"),
    ],
)
def test_unknown_backbone_arguments_are_named_with_a_suggestion(name: str, kwargs: dict, needle: str) -> None:
    """issue 22: smp encoders swallowed unknown arguments; tu- encoders raised a bare TypeError."""
    from geo_core import UnusedArgumentError
    from geo_core.models import EncoderDecoderFactory

    with pytest.raises(UnusedArgumentError) as info:
        EncoderDecoderFactory().build_model(
            "segmentation", backbone=name, decoder="UNetDecoder", num_classes=2, **kwargs
        )
    assert needle in str(info.value) and name in str(info.value)
