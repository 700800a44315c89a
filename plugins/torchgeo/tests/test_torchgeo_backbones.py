"""torchgeo weights as backbones: random state dicts saved in each enum's layout and loaded back."""

from __future__ import annotations

import geo_core
import pytest
import torch
from geo_core import CheckpointError, ConfigError
from geo_core.testing import check_backbone

# torchgeo.models imports kornia/timm modules that emit deprecation warnings on import.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _save_in_enum_layout(tmp_path, name: str) -> dict[str, torch.Tensor]:
    """Write torchgeo's own architecture (random init) under the enum's file name."""
    import torchgeo.models as tgm

    enum_name, _, member = name.partition(".")
    weights = getattr(getattr(tgm, enum_name), member)
    meta = geo_core.BACKBONES.info(f"torchgeo:{name}").metadata
    builder = getattr(tgm, meta["builder"])
    torch.manual_seed(1)
    if meta["family"] == "torchvision_swin":
        model = builder(weights=None)
        stem = model.features[0][0]
        model.features[0][0] = torch.nn.Conv2d(weights.meta["in_chans"], stem.out_channels, 4, 4)
    else:
        model = builder(weights=None, in_chans=weights.meta["in_chans"])
    state = model.state_dict()
    torch.save(state, tmp_path / meta["file"])
    return state


@pytest.mark.parametrize(
    ("name", "key", "size"),
    [
        ("ResNet18_Weights.SENTINEL2_ALL_MOCO", "conv1.weight", 64),
        ("ViTSmall16_Weights.SENTINEL2_ALL_DINO", "patch_embed.proj.weight", 64),
        ("Swin_V2_T_Weights.SENTINEL2_MI_MS_SATLAS", "features.0.0.weight", 64),  # body = features
    ],
)
def test_weights_load_from_local_file(tmp_path, name: str, key: str, size: int) -> None:
    state = _save_in_enum_layout(tmp_path, name)
    bb = geo_core.BACKBONES.build(f"torchgeo:{name}", weights_dir=tmp_path)
    meta = geo_core.BACKBONES.info(f"torchgeo:{name}").metadata
    assert bb.bands == meta["bands"] and len(bb.bands) == meta["in_chans"]
    loaded = dict(bb.named_parameters())
    suffix = key.removeprefix("features.")  # the Swin backbone keeps torchvision's `features` as `body`
    match = [v for k, v in loaded.items() if k.endswith(suffix)]
    assert match and torch.equal(match[0], state[key])
    with torch.no_grad():
        feats = bb.eval()(torch.randn(1, meta["in_chans"], size, size))
    assert [f.shape[1] for f in feats] == bb.out_channels and all(f.ndim == 4 for f in feats)


def test_ckpt_path_and_missing_file_errors(tmp_path) -> None:
    name = "ResNet50_Weights.SENTINEL1_ALL_MOCO"
    with pytest.raises(CheckpointError, match=r"resnet50_sentinel1_all_moco-906e4356\.pth"):
        geo_core.BACKBONES.build(f"torchgeo:{name}", weights_dir=tmp_path)
    with pytest.raises(ConfigError, match="2 bands"):
        geo_core.BACKBONES.build(f"torchgeo:{name}", weights_dir=tmp_path, in_chans=3)
    bad = tmp_path / "other.pth"
    torch.save({"conv1.weight": torch.zeros(64, 5, 7, 7)}, bad)
    with pytest.raises(CheckpointError, match=r"other\.pth"):
        geo_core.BACKBONES.build(f"torchgeo:{name}", ckpt_path=bad)


def test_random_weights_and_out_indices() -> None:
    bb = geo_core.BACKBONES.build("torchgeo:ResNet50_Weights.SENTINEL2_ALL_DINO", pretrained=False, out_indices=[2, 3])
    assert bb.out_channels == [512, 1024]
    feats = check_backbone(bb, 13, 64)
    assert [tuple(f.shape) for f in feats] == [(2, 512, 8, 8), (2, 1024, 4, 4)]


def test_dofa_takes_wavelengths_as_kwargs() -> None:
    waves = [0.665, 0.56, 0.49, 0.842]  # Sentinel-2 B4, B3, B2, B8 in µm
    bb = geo_core.BACKBONES.build(
        "torchgeo:DOFABase16_Weights.DOFA_MAE", pretrained=False, img_size=64, wavelengths=waves, out_indices=[1, 3]
    )
    assert bb.out_channels == [768, 768]
    with torch.no_grad():
        feats = bb.eval()(torch.randn(1, 4, 64, 64))
        assert [tuple(f.shape) for f in feats] == [(1, 768, 4, 4)] * 2
        # Any band count works when the wavelengths match it.
        assert bb(torch.randn(1, 2, 64, 64), wavelengths=waves[:2])[0].shape == (1, 768, 4, 4)
        with pytest.raises(ConfigError, match="one wavelength"):
            bb(torch.randn(1, 3, 64, 64))


def test_band_subset_selects_input_channels_and_stats(tmp_path) -> None:
    name = "ResNet50_Weights.SENTINEL2_ALL_SOFTCON"  # 13 bands B1..B12 + B8a, per-band mean/std
    state = _save_in_enum_layout(tmp_path, name)
    meta = geo_core.BACKBONES.info(f"torchgeo:{name}").metadata
    full = geo_core.BACKBONES.build(f"torchgeo:{name}", weights_dir=tmp_path).eval()
    # TerraTorch/HLS names and zero-padded names, in the dataset's own order
    wanted = ["NIR_NARROW", "B02", "GREEN", "red", "SWIR_1", "b12"]
    bb = geo_core.BACKBONES.build(f"torchgeo:{name}", weights_dir=tmp_path, bands=wanted).eval()
    idx = [8, 1, 2, 3, 11, 12]
    assert bb.bands == [meta["bands"][i] for i in idx] == ["B8a", "B2", "B3", "B4", "B11", "B12"]
    assert bb.mean == [meta["mean"][i] for i in idx] and bb.std == [meta["std"][i] for i in idx]
    assert torch.equal(bb.body.conv1.weight, state["conv1.weight"][:, idx])
    x = torch.randn(1, 13, 64, 64)
    x[:, [i for i in range(13) if i not in idx]] = 0  # the dropped bands contribute nothing
    with torch.no_grad():
        a, b = full(x), bb(x[:, idx])
    assert all(torch.allclose(u, v, atol=1e-5) for u, v in zip(a, b, strict=True))
    check_backbone(bb, in_channels=6, image_size=(64, 64))


def test_band_selection_errors_name_the_band_and_the_choices(tmp_path) -> None:
    name = "ResNet18_Weights.SENTINEL2_RGB_SECO"  # bands B4, B3, B2
    _save_in_enum_layout(tmp_path, name)
    with pytest.raises(ConfigError, match=r"(?s)'NIR_NARROW' is not one of them.*'BLUE'"):
        geo_core.BACKBONES.build(f"torchgeo:{name}", weights_dir=tmp_path, bands=["RED", "NIR_NARROW"])
    with pytest.raises(ConfigError, match="given twice"):
        geo_core.BACKBONES.build(f"torchgeo:{name}", weights_dir=tmp_path, bands=["RED", "B04"])
    with pytest.raises(ConfigError, match=r"bands=\[\.\.\.\]"):
        geo_core.BACKBONES.build(f"torchgeo:{name}", weights_dir=tmp_path, in_chans=6)
    rgb = geo_core.BACKBONES.build(f"torchgeo:{name}", weights_dir=tmp_path, bands=["BLUE", "GREEN", "RED"])
    assert rgb.bands == ["B2", "B3", "B4"]
    random = geo_core.BACKBONES.build(f"torchgeo:{name}", pretrained=False, bands=["A", "B", "C", "D"])
    assert random.bands == ["A", "B", "C", "D"]
    with torch.no_grad():
        assert random.eval()(torch.randn(1, 4, 32, 32))[0].shape[0] == 1
