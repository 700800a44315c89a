"""Every smp decoder on plain feature pyramids (forward, backward, output shape) and its errors."""

import geo_core
import geo_core.testing
import pytest
import torch

# Small widths keep the whole matrix fast on a CPU.
SMALL = {
    "Unet": dict(decoder_channels=[16, 8, 8, 8, 8]),
    "UnetPlusPlus": dict(decoder_channels=[16, 8, 8, 8]),
    "MAnet": dict(decoder_channels=[16, 8, 8, 8, 8], pab_channels=8),
    "Linknet": dict(prefinal_channels=8),
    "FPN": dict(pyramid_channels=16, segmentation_channels=32),
    "PSPNet": dict(decoder_channels=16),
    "PAN": dict(decoder_channels=8),
    "DeepLabV3": dict(decoder_channels=16, atrous_rates=(2, 4, 6)),
    "DeepLabV3Plus": dict(decoder_channels=16, atrous_rates=(2, 4, 6)),
    "UPerNet": dict(decoder_channels=16),
    "Segformer": dict(segmentation_channels=16),
}
# A tiny CNN's pyramid: four maps, each half the size of the previous one. The four
# features take the stride-4..32 slots (the stride-2 slot stays empty, see the README),
# so each decoder's output size is known relative to the first map (64 px).
CHANNELS = [8, 16, 32, 64]
# Sizes for a first map of 32 px (64 for PAN, whose attention block needs a deepest map >= 8 px).
EXPECTED_SIZE = {
    "Unet": 128,
    "MAnet": 128,
    "UnetPlusPlus": 64,
    "Linknet": 64,
    "FPN": 32,
    "PSPNet": 4,
    "DeepLabV3": 4,
    "PAN": 64,
    "DeepLabV3Plus": 32,
    "UPerNet": 32,
    "Segformer": 32,
}


def pyramid(channels: list[int], size: int, batch: int = 2) -> list[torch.Tensor]:
    return [torch.randn(batch, c, size // 2**i, size // 2**i, requires_grad=True) for i, c in enumerate(channels)]


@pytest.mark.parametrize("name", sorted(SMALL))
def test_decoder_on_a_feature_pyramid(name: str) -> None:
    decoder = geo_core.DECODERS.build(f"smp:{name}", CHANNELS, **SMALL[name])
    assert type(decoder).includes_head is False
    feats = pyramid(CHANNELS, 64 if name == "PAN" else 32)
    out = decoder(feats)
    s = EXPECTED_SIZE[name]
    assert out.shape == (2, decoder.out_channels, s, s)
    out.square().mean().backward()
    grads = [p.grad for p in decoder.parameters() if p.requires_grad]
    assert grads and all(g is not None for g in grads)
    assert feats[-1].grad is not None


# Through EncoderDecoderFactory behind geo_core's tiny ViT + token necks (non-square input).
CONFORMANCE = {**SMALL, "DPT": dict(feature_strides=[2, 4, 8, 16], intermediate_channels=[8] * 4, fusion_channels=8)}


@pytest.mark.parametrize("name", sorted(CONFORMANCE))
def test_decoder_conformance_behind_vit_necks(name: str) -> None:
    check_decoder = getattr(geo_core.testing, "check_decoder", None)
    if check_decoder is None:  # pragma: no cover - geo_core.testing without conformance checks
        pytest.skip("geo_core.testing.check_decoder is not available")
    size = (128, 128) if name == "PAN" else (64, 48)  # PAN pools its deepest map three times
    check_decoder(f"smp:{name}", CONFORMANCE[name], backbones=("vit",), image_size=size)


@pytest.mark.parametrize("name", ["Unet", "UPerNet", "DeepLabV3Plus", "Segformer"])
def test_five_features_fill_the_stride2_slot(name: str) -> None:
    chans = [8, 8, 16, 16, 32]
    decoder = geo_core.DECODERS.build(f"smp:{name}", chans, **SMALL[name])
    assert decoder.layout.first == 1 and decoder.layout.depth == 5
    assert decoder(pyramid(chans, 64)).shape[1] == decoder.out_channels


def test_fpn_needs_four_features() -> None:
    with pytest.raises(geo_core.ConfigError, match="FPN reads stage slot"):
        geo_core.DECODERS.build("smp:FPN", [8, 16, 32])


def test_pan_rejects_too_many_features() -> None:
    with pytest.raises(geo_core.ConfigError, match="PAN supports 3 to 5 stages"):
        geo_core.DECODERS.build("smp:PAN", [8] * 6)


def test_depth_override_and_its_checks() -> None:
    dec = geo_core.DECODERS.build("smp:Unet", [8, 16, 32, 64], depth=4, decoder_channels=[16, 8, 8, 8])
    assert dec.layout.first == 1
    with pytest.raises(geo_core.ConfigError, match="depth=3 is smaller"):
        geo_core.DECODERS.build("smp:Unet", [8, 16, 32, 64], depth=3)
    with pytest.raises(geo_core.ConfigError, match="decoder_channels needs 5 entries"):
        geo_core.DECODERS.build("smp:Unet", [8, 16, 32, 64], decoder_channels=[8, 8])


def test_tokens_and_non_pyramids_get_clear_errors() -> None:
    dec = geo_core.DECODERS.build("smp:Unet", [8, 8, 8, 8], decoder_channels=[8] * 5)
    with pytest.raises(ValueError, match="ReshapeTokensToImage"):
        dec([torch.randn(2, 17, 8)] * 4)
    with pytest.raises(ValueError, match="needs a feature pyramid"):
        dec([torch.randn(2, 8, 8, 8)] * 4)
    with pytest.raises(ValueError, match="built for 4 feature maps"):
        dec([torch.randn(2, 8, 8, 8)] * 3)


@pytest.mark.parametrize("name", ["DeepLabV3", "DeepLabV3Plus", "UPerNet", "PAN"])
def test_batch_of_one_in_training_is_a_clear_error(name: str) -> None:
    chans = [8, 16, 32, 64]
    dec = geo_core.DECODERS.build(f"smp:{name}", chans, **SMALL[name])
    feats = pyramid(chans, 64, batch=1)
    with pytest.raises(ValueError, match="batch of one sample"):
        dec(feats)
    dec.eval()
    assert dec(feats).shape[0] == 1


def test_pan_small_inputs_are_a_clear_error() -> None:
    dec = geo_core.DECODERS.build("smp:PAN", [8, 16, 32, 64], decoder_channels=8)
    with pytest.raises(ValueError, match="at least 8 x 8"):
        dec(pyramid([8, 16, 32, 64], 16))


@pytest.mark.parametrize("readout", ["ignore", "cat", "add"])
def test_dpt_on_vit_tokens(readout: str) -> None:
    # ViT /16 on a 64 px image: 1 cls token + 4 x 4 patches of width 16, from four blocks.
    tokens = [torch.randn(2, 17, 16, requires_grad=True) for _ in range(4)]
    dec = geo_core.DECODERS.build(
        "smp:DPT", [16] * 4, readout=readout, intermediate_channels=[8, 8, 8, 8], fusion_channels=8
    )
    out = dec(tokens)
    assert out.shape == (2, 8, 32, 32)  # stride 2
    out.mean().backward()


def test_dpt_on_maps_and_errors() -> None:
    dec = geo_core.DECODERS.build(
        "smp:DPT", [8, 8], feature_strides=[4, 8], intermediate_channels=[8, 8], fusion_channels=8
    )
    out = dec([torch.randn(2, 8, 16, 16), torch.randn(2, 8, 8, 8)])
    assert out.shape == (2, 8, 32, 32)
    one = geo_core.DECODERS.build("smp:DPT", [8], num_prefix_tokens=1, intermediate_channels=[8], fusion_channels=8)
    with pytest.raises(ValueError, match="not a square grid"):
        one([torch.randn(2, 12, 8)])
    cat = geo_core.DECODERS.build("smp:DPT", [8], readout="cat", intermediate_channels=[8], fusion_channels=8)
    with pytest.raises(ValueError, match="needs token features"):
        cat([torch.randn(2, 8, 4, 4)])
    with pytest.raises(geo_core.ConfigError, match="equal length"):
        geo_core.DECODERS.build("smp:DPT", [8, 8], feature_strides=[16])
