"""SSL4EO (Landsat and Sentinel-1/2) ResNet and ViT-S/16 backbones under TerraTorch's names.

Also the other torchgeo ResNets TerraTorch registers in the same file (SeCo, fMoW GASSL). The
architectures and weights are torchgeo's (timm ``resnet18``/``resnet50``, ``vit_small_patch16_224``);
names, arguments and feature lists are TerraTorch's (see :mod:`geo_plugin_torchgeo._named`): a
ResNet returns the last of its five levels by default, a ViT every block as ``(B, 384, H/16, W/16)``
maps. ``test_ssl4eo_resnet`` and ``test_ssl4eo_vit`` are tiny random timm models (``test_resnet``,
``test_vit``) with the same feature lists, for tests.

Example:
    >>> import geo_core, torch
    >>> bb = geo_core.BACKBONES.build("test_ssl4eo_vit", model_bands=["B4", "B3", "B2"], out_indices=[1, 3, 5])
    >>> [tuple(f.shape) for f in bb(torch.zeros(1, 3, 32, 32))]
    [(1, 64, 2, 2), (1, 64, 2, 2), (1, 64, 2, 2)]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from geo_plugin_torchgeo._backbone import TorchGeoBackbone
from geo_plugin_torchgeo._named import Layout, layer_indices, variant

__all__ = ["SSL4EO", "test_ssl4eo_resnet", "test_ssl4eo_vit"]

#: TerraTorch name -> (torchgeo weight enum member, layout).
SSL4EO: dict[str, tuple[str, Layout]] = {
    "ssl4eol_resnet18_landsat_tm_toa_moco": ("ResNet18_Weights.LANDSAT_TM_TOA_MOCO", "resnet"),
    "ssl4eol_resnet18_landsat_tm_toa_simclr": ("ResNet18_Weights.LANDSAT_TM_TOA_SIMCLR", "resnet"),
    "ssl4eol_resnet18_landsat_etm_toa_moco": ("ResNet18_Weights.LANDSAT_ETM_TOA_MOCO", "resnet"),
    "ssl4eol_resnet18_landsat_etm_toa_simclr": ("ResNet18_Weights.LANDSAT_ETM_TOA_SIMCLR", "resnet"),
    "ssl4eol_resnet18_landsat_etm_sr_moco": ("ResNet18_Weights.LANDSAT_ETM_SR_MOCO", "resnet"),
    "ssl4eol_resnet18_landsat_etm_sr_simclr": ("ResNet18_Weights.LANDSAT_ETM_SR_SIMCLR", "resnet"),
    "ssl4eol_resnet18_landsat_oli_tirs_toa_moco": ("ResNet18_Weights.LANDSAT_OLI_TIRS_TOA_MOCO", "resnet"),
    "ssl4eol_resnet18_landsat_oli_tirs_toa_simclr": ("ResNet18_Weights.LANDSAT_OLI_TIRS_TOA_SIMCLR", "resnet"),
    "ssl4eol_resnet18_landsat_oli_sr_moco": ("ResNet18_Weights.LANDSAT_OLI_SR_MOCO", "resnet"),
    "ssl4eol_resnet18_landsat_oli_sr_simclr": ("ResNet18_Weights.LANDSAT_OLI_SR_SIMCLR", "resnet"),
    "ssl4eos12_resnet18_sentinel2_all_moco": ("ResNet18_Weights.SENTINEL2_ALL_MOCO", "resnet"),
    "ssl4eos12_resnet18_sentinel2_rgb_moco": ("ResNet18_Weights.SENTINEL2_RGB_MOCO", "resnet"),
    "seco_resnet18_sentinel2_rgb_seco": ("ResNet18_Weights.SENTINEL2_RGB_SECO", "resnet"),
    "fmow_resnet50_fmow_rgb_gassl": ("ResNet50_Weights.FMOW_RGB_GASSL", "resnet"),
    "ssl4eol_resnet50_landsat_tm_toa_moco": ("ResNet50_Weights.LANDSAT_TM_TOA_MOCO", "resnet"),
    "ssl4eol_resnet50_landsat_tm_toa_simclr": ("ResNet50_Weights.LANDSAT_TM_TOA_SIMCLR", "resnet"),
    "ssl4eol_resnet50_landsat_etm_toa_moco": ("ResNet50_Weights.LANDSAT_ETM_TOA_MOCO", "resnet"),
    "ssl4eol_resnet50_landsat_etm_toa_simclr": ("ResNet50_Weights.LANDSAT_ETM_TOA_SIMCLR", "resnet"),
    "ssl4eol_resnet50_landsat_etm_sr_moco": ("ResNet50_Weights.LANDSAT_ETM_SR_MOCO", "resnet"),
    "ssl4eol_resnet50_landsat_etm_sr_simclr": ("ResNet50_Weights.LANDSAT_ETM_SR_SIMCLR", "resnet"),
    "ssl4eol_resnet50_landsat_oli_tirs_toa_moco": ("ResNet50_Weights.LANDSAT_OLI_TIRS_TOA_MOCO", "resnet"),
    "ssl4eol_resnet50_landsat_oli_tirs_toa_simclr": ("ResNet50_Weights.LANDSAT_OLI_TIRS_TOA_SIMCLR", "resnet"),
    "ssl4eol_resnet50_landsat_oli_sr_moco": ("ResNet50_Weights.LANDSAT_OLI_SR_MOCO", "resnet"),
    "ssl4eol_resnet50_landsat_oli_sr_simclr": ("ResNet50_Weights.LANDSAT_OLI_SR_SIMCLR", "resnet"),
    "ssl4eos12_resnet50_sentinel1_all_decur": ("ResNet50_Weights.SENTINEL1_ALL_DECUR", "resnet"),
    "ssl4eos12_resnet50_sentinel1_all_moco": ("ResNet50_Weights.SENTINEL1_ALL_MOCO", "resnet"),
    "ssl4eos12_resnet50_sentinel2_all_decur": ("ResNet50_Weights.SENTINEL2_ALL_DECUR", "resnet"),
    "ssl4eos12_resnet50_sentinel2_all_dino": ("ResNet50_Weights.SENTINEL2_ALL_DINO", "resnet"),
    "ssl4eos12_resnet50_sentinel2_all_moco": ("ResNet50_Weights.SENTINEL2_ALL_MOCO", "resnet"),
    "ssl4eos12_resnet50_sentinel2_rgb_moco": ("ResNet50_Weights.SENTINEL2_RGB_MOCO", "resnet"),
    "seco_resnet50_sentinel2_rgb_seco": ("ResNet50_Weights.SENTINEL2_RGB_SECO", "resnet"),
    "ssl4eol_vit_small_patch16_224_landsat_tm_toa_moco": ("ViTSmall16_Weights.LANDSAT_TM_TOA_MOCO", "vit"),
    "ssl4eol_vit_small_patch16_224_landsat_tm_toa_simclr": ("ViTSmall16_Weights.LANDSAT_TM_TOA_SIMCLR", "vit"),
    "ssl4eol_vit_small_patch16_224_landsat_etm_toa_moco": ("ViTSmall16_Weights.LANDSAT_ETM_TOA_MOCO", "vit"),
    "ssl4eol_vit_small_patch16_224_landsat_etm_toa_simclr": ("ViTSmall16_Weights.LANDSAT_ETM_TOA_SIMCLR", "vit"),
    "ssl4eol_vit_small_patch16_224_landsat_etm_sr_moco": ("ViTSmall16_Weights.LANDSAT_ETM_SR_MOCO", "vit"),
    "ssl4eol_vit_small_patch16_224_landsat_etm_sr_simclr": ("ViTSmall16_Weights.LANDSAT_ETM_SR_SIMCLR", "vit"),
    "ssl4eol_vit_small_patch16_224_landsat_oli_tirs_toa_simclr": (
        "ViTSmall16_Weights.LANDSAT_OLI_TIRS_TOA_SIMCLR",
        "vit",
    ),
    "ssl4eol_vit_small_patch16_224_landsat_oli_sr_moco": ("ViTSmall16_Weights.LANDSAT_OLI_SR_MOCO", "vit"),
    "ssl4eol_vit_small_patch16_224_landsat_oli_sr_simclr": ("ViTSmall16_Weights.LANDSAT_OLI_SR_SIMCLR", "vit"),
    "ssl4eos12_vit_small_patch16_224_sentinel2_all_dino": ("ViTSmall16_Weights.SENTINEL2_ALL_DINO", "vit"),
    "ssl4eos12_vit_small_patch16_224_sentinel2_all_moco": ("ViTSmall16_Weights.SENTINEL2_ALL_MOCO", "vit"),
}

for _name, (_weights, _layout) in SSL4EO.items():
    globals()[_name] = variant(_name, _weights, _layout, __name__)


def _tiny(
    model: str,
    layout: Layout,
    name: str,
    model_bands: Sequence[Any] | None,
    in_chans: int | None,
    out_indices: Sequence[int] | None,
    pretrained: bool,
    kwargs: dict[str, Any],
) -> TorchGeoBackbone:
    import timm
    from geo_core import ConfigError

    if pretrained:
        raise ConfigError(f"{name} is a tiny test variant without weights; use pretrained=False", key="pretrained")
    bands = [str(getattr(b, "value", b)) for b in model_bands] if model_bands is not None else None
    chans = len(bands) if bands is not None else (in_chans or 3)
    probe: Any = timm.create_model(model) if layout == "vit" else None
    n = len(probe.blocks) if probe is not None else 5
    picked = layer_indices(layout, out_indices, n)
    if layout == "vit":
        kwargs.setdefault("dynamic_img_size", True)
    body: Any = timm.create_model(model, features_only=True, in_chans=chans, out_indices=tuple(picked), **kwargs)
    return TorchGeoBackbone(
        body, [int(c) for c in body.feature_info.channels()], name=name, entry={"family": "timm", "bands": bands}
    )


def test_ssl4eo_resnet(
    model_bands: Sequence[Any] | None = None,
    *,
    in_chans: int | None = None,
    out_indices: Sequence[int] | None = None,
    pretrained: bool = False,
    **kwargs: Any,
) -> TorchGeoBackbone:
    """A tiny random ResNet (timm ``test_resnet``) with the SSL4EO ResNet feature list.

    Args:
        model_bands: Band names (their count sets the input channels).
        in_chans: Input channels when no band names are given (default 3).
        out_indices: Levels to return (stem, stages 1-4; default the last).
        pretrained: Must be False: there are no weights.
        **kwargs: Passed to ``timm.create_model``.
    """
    return _tiny("test_resnet", "resnet", "test_ssl4eo_resnet", model_bands, in_chans, out_indices, pretrained, kwargs)


def test_ssl4eo_vit(
    model_bands: Sequence[Any] | None = None,
    *,
    in_chans: int | None = None,
    out_indices: Sequence[int] | None = None,
    pretrained: bool = False,
    **kwargs: Any,
) -> TorchGeoBackbone:
    """A tiny random ViT (timm ``test_vit``, 6 blocks of width 64) with the SSL4EO ViT feature list.

    Args:
        model_bands: Band names (their count sets the input channels).
        in_chans: Input channels when no band names are given (default 3).
        out_indices: Blocks to return (default all).
        pretrained: Must be False: there are no weights.
        **kwargs: Passed to ``timm.create_model``.
    """
    return _tiny("test_vit", "vit", "test_ssl4eo_vit", model_bands, in_chans, out_indices, pretrained, kwargs)
