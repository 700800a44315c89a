"""SatlasPretrain Swin-V2 and ResNet backbones under TerraTorch's names.

The architectures and weights are torchgeo's (torchvision ``swin_v2_t``/``swin_v2_b`` with a
stem for the weight's bands, timm ``resnet50``/``resnet152``); the names, arguments and feature
lists are TerraTorch's (see :mod:`geo_plugin_torchgeo._named`). Each name maps to the torchgeo
weight enum member TerraTorch uses for it (``satlas_swin_b_landsat_mi_rgb`` takes
``LANDSAT_SI_SATLAS`` there, and here). ``test_satlas_swin`` is a tiny random Swin-V2 with the
same feature list, for tests.

Example:
    >>> import geo_core, torch
    >>> bb = geo_core.BACKBONES.build("test_satlas_swin", model_bands=["RED", "GREEN", "BLUE"],
    ...                               out_indices=[1, 3, 5, 7])
    >>> [f.shape[1] for f in bb(torch.zeros(1, 3, 64, 64))] == bb.out_channels == [16, 32, 64, 128]
    True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from geo_plugin_torchgeo._backbone import TorchGeoBackbone
from geo_plugin_torchgeo._named import Layout, layer_indices, variant

__all__ = ["SATLAS", "test_satlas_swin"]

#: TerraTorch name -> (torchgeo weight enum member, layout).
SATLAS: dict[str, tuple[str, Layout]] = {
    "satlas_swin_t_sentinel2_mi_ms": ("Swin_V2_T_Weights.SENTINEL2_MI_MS_SATLAS", "swin"),
    "satlas_swin_t_sentinel2_mi_rgb": ("Swin_V2_T_Weights.SENTINEL2_MI_RGB_SATLAS", "swin"),
    "satlas_swin_t_sentinel2_si_ms": ("Swin_V2_T_Weights.SENTINEL2_SI_MS_SATLAS", "swin"),
    "satlas_swin_t_sentinel2_si_rgb": ("Swin_V2_T_Weights.SENTINEL2_SI_RGB_SATLAS", "swin"),
    "satlas_swin_b_sentinel2_mi_ms": ("Swin_V2_B_Weights.SENTINEL2_MI_MS_SATLAS", "swin"),
    "satlas_swin_b_sentinel2_mi_rgb": ("Swin_V2_B_Weights.SENTINEL2_MI_RGB_SATLAS", "swin"),
    "satlas_swin_b_sentinel2_si_ms": ("Swin_V2_B_Weights.SENTINEL2_SI_MS_SATLAS", "swin"),
    "satlas_swin_b_sentinel2_si_rgb": ("Swin_V2_B_Weights.SENTINEL2_SI_RGB_SATLAS", "swin"),
    "satlas_swin_b_naip_mi_rgb": ("Swin_V2_B_Weights.NAIP_RGB_MI_SATLAS", "swin"),
    "satlas_swin_b_naip_si_rgb": ("Swin_V2_B_Weights.NAIP_RGB_SI_SATLAS", "swin"),
    "satlas_swin_b_landsat_mi_ms": ("Swin_V2_B_Weights.LANDSAT_MI_SATLAS", "swin"),
    "satlas_swin_b_landsat_mi_rgb": ("Swin_V2_B_Weights.LANDSAT_SI_SATLAS", "swin"),
    "satlas_swin_b_sentinel1_mi": ("Swin_V2_B_Weights.SENTINEL1_MI_SATLAS", "swin"),
    "satlas_swin_b_sentinel1_si": ("Swin_V2_B_Weights.SENTINEL1_SI_SATLAS", "swin"),
    "satlas_resnet50_sentinel2_mi_ms_satlas": ("ResNet50_Weights.SENTINEL2_MI_MS_SATLAS", "resnet"),
    "satlas_resnet50_sentinel2_mi_rgb_satlas": ("ResNet50_Weights.SENTINEL2_MI_RGB_SATLAS", "resnet"),
    "satlas_resnet50_sentinel2_si_ms_satlas": ("ResNet50_Weights.SENTINEL2_SI_MS_SATLAS", "resnet"),
    "satlas_resnet50_sentinel2_si_rgb_satlas": ("ResNet50_Weights.SENTINEL2_SI_RGB_SATLAS", "resnet"),
    "satlas_resnet152_sentinel2_mi_ms": ("ResNet152_Weights.SENTINEL2_MI_MS_SATLAS", "resnet"),
    "satlas_resnet152_sentinel2_mi_rgb": ("ResNet152_Weights.SENTINEL2_MI_RGB_SATLAS", "resnet"),
    "satlas_resnet152_sentinel2_si_ms_satlas": ("ResNet152_Weights.SENTINEL2_SI_MS_SATLAS", "resnet"),
    "satlas_resnet152_sentinel2_si_rgb_satlas": ("ResNet152_Weights.SENTINEL2_SI_RGB_SATLAS", "resnet"),
}

for _name, (_weights, _layout) in SATLAS.items():
    globals()[_name] = variant(_name, _weights, _layout, __name__)


def test_satlas_swin(
    model_bands: Sequence[Any] | None = None,
    *,
    in_chans: int | None = None,
    out_indices: Sequence[int] | None = None,
    pretrained: bool = False,
    **kwargs: Any,
) -> TorchGeoBackbone:
    """A tiny random Swin-V2 (embed 16, one block per stage) with Satlas Swin's feature list.

    Args:
        model_bands: Band names (their count sets the input channels).
        in_chans: Input channels when no band names are given (default 3).
        out_indices: Layers of ``features`` to return (default the last), as for the Satlas names.
        pretrained: Must be False: there are no weights.
        **kwargs: Passed to torchvision's ``SwinTransformer`` (``window_size``, ...).
    """
    from geo_core import ConfigError
    from torch import nn
    from torchvision.models.swin_transformer import PatchMergingV2, SwinTransformer, SwinTransformerBlockV2

    if pretrained:
        raise ConfigError(
            "test_satlas_swin is a tiny test variant without weights; use pretrained=False", key="pretrained"
        )
    bands = [str(getattr(b, "value", b)) for b in model_bands] if model_bands is not None else None
    chans = len(bands) if bands is not None else (in_chans or 3)
    opts: dict[str, Any] = {
        "patch_size": [4, 4],
        "embed_dim": 16,
        "depths": [1, 1, 1, 1],
        "num_heads": [1, 1, 2, 2],
        "window_size": [4, 4],
        **kwargs,
    }
    model = SwinTransformer(block=SwinTransformerBlockV2, downsample_layer=PatchMergingV2, **opts)
    model.features[0][0] = nn.Conv2d(chans, opts["embed_dim"], kernel_size=4, stride=4)
    widths = [opts["embed_dim"] * 2 ** (i // 2) for i in range(len(model.features))]
    positions = layer_indices("swin", out_indices, len(widths))
    entry = {"family": "torchvision_swin", "bands": bands}
    return TorchGeoBackbone(
        model.features,
        [widths[i] for i in positions],
        name="test_satlas_swin",
        entry=entry,
        channels_last=True,
        stage_positions=positions,
    )
