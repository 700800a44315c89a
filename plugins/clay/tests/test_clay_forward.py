"""The backbone contract, metadata inputs and wavelength handling."""

from __future__ import annotations

import geo_core
import pytest
import torch
from geo_core.testing import check_backbone
from geo_plugin_clay import build_backbone


def test_backbone_contract_on_a_non_square_input() -> None:
    model = build_backbone("clay_test")
    feats = check_backbone(model, in_channels=6, image_size=(32, 48))
    assert [f.shape for f in feats] == [(2, 1 + 4 * 6, 32)] * 2
    assert model.output_format == "tokens" and model.prefix_tokens == 1


def test_metadata_inputs_change_the_tokens_and_default_to_zeros() -> None:
    torch.manual_seed(0)
    model = build_backbone("clay_test").eval()
    x = torch.randn(2, 6, 16, 16)
    with torch.no_grad():
        base = model(x)[-1]
        assert torch.equal(base, model(x, time=torch.zeros(2, 4), latlon=torch.zeros(2, 4), gsd=1.0)[-1])
        assert not torch.allclose(base, model(x, time=torch.ones(2, 4))[-1])
        assert not torch.allclose(base, model(x, latlon=torch.ones(2, 4))[-1])
        assert not torch.allclose(base, model(x, gsd=10.0)[-1])
        per_sample = model(x, gsd=torch.tensor([10.0, 30.0]))[-1]
        assert torch.allclose(per_sample[0], model(x[:1], gsd=10.0)[-1][0], atol=1e-6)
        assert torch.allclose(per_sample[1], model(x[1:], gsd=30.0)[-1][0], atol=1e-6)


def test_bands_pick_their_wavelengths_and_waves_override_per_call() -> None:
    torch.manual_seed(0)
    hls = build_backbone("clay_test", bands=["BLUE", "GREEN", "RED"]).eval()
    assert hls.waves.tolist() == pytest.approx([0.49, 0.56, 0.665])
    explicit = build_backbone("clay_test", wavelengths=[0.49, 0.56, 0.665]).eval()
    explicit.load_state_dict(hls.state_dict())
    x = torch.randn(1, 3, 16, 16)
    with torch.no_grad():
        assert torch.equal(hls(x)[-1], explicit(x)[-1])
        assert not torch.allclose(hls(x)[-1], hls(x, waves=[2.19, 1.61, 0.842])[-1])


def test_band_and_shape_errors_name_the_fix() -> None:
    with pytest.raises(geo_core.ConfigError, match=r"'nir08'.*wavelengths=\[") as err:
        build_backbone("clay_test", bands=["blue", "nir8"])
    assert err.value.key == "bands"
    with pytest.raises(geo_core.ConfigError, match="2 bands but 3 wavelengths"):
        build_backbone("clay_test", bands=["a", "b"], wavelengths=[0.4, 0.5, 0.6])
    model = build_backbone("clay_test")
    with pytest.raises(ValueError, match="input has 4 bands but the model has 6 wavelengths"):
        model(torch.zeros(1, 4, 16, 16))
    with pytest.raises(ValueError, match="divisible by the patch size 8"):
        model(torch.zeros(1, 6, 20, 16))
    with pytest.raises(ValueError, match=r"time must be \(batch, 4\)"):
        model(torch.zeros(1, 6, 16, 16), time=torch.zeros(1, 2))
    with pytest.raises(geo_core.ConfigError, match="num_frames"):
        build_backbone("clay_test", num_frames=2)


def test_out_indices_select_blocks_and_the_last_block_is_normed() -> None:
    torch.manual_seed(0)
    model = build_backbone("clay_test", depth=3, out_indices=[0, -1]).eval()
    assert model.out_indices == [0, 2] and model.out_channels == [32, 32]
    x = torch.randn(1, 6, 16, 16)
    with torch.no_grad():
        first, last = model(x)
        full = build_backbone("clay_test", depth=3)
        full.load_state_dict(model.state_dict())
        every = full.eval()(x)
    assert torch.equal(first, every[0]) and torch.equal(last, every[2])
    assert torch.allclose(last.mean(-1), torch.zeros(1, 5), atol=1e-5)  # layer-normed, unit weights
