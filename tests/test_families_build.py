"""Every backbone name of the foundation-model families TerraTorch users fine-tune builds at its real size.

The families' own tests train their tiny variants; this builds each registered name once (random
init, no weights) and checks the built module against the metadata `geo info` shows without imports.
"""

from __future__ import annotations

import gc

import geo_core
import pytest

FAMILIES = (
    "prithvi_swin_",
    "terramind_v1_",
    "clay_v",
    "dofa_",
    "scalemae_",
    "satlas_",
    "ssl4eo",
    "seco_",
    "fmow_",
    "mmearth_",
    "dinov3_",
)
# DOFA is wavelength-conditioned: it needs the input bands named.
EXTRA = {"dofa_": {"model_bands": ["RED", "GREEN", "BLUE"]}}
# 7-billion-parameter models (28 GB in float32) are built on the meta device: shapes, no memory.
META_ONLY = ("dinov3_vit7b16",)
NAMES = sorted(n for n in geo_core.BACKBONES.names() if n.split(":", 1)[1].startswith(FAMILIES))


def test_every_family_is_registered() -> None:
    found = {p for p in FAMILIES for n in NAMES if n.split(":", 1)[1].startswith(p)}
    assert found == set(FAMILIES)


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_family_name_builds_at_real_size(name: str) -> None:
    plain = name.split(":", 1)[1]
    kwargs = next((v for p, v in EXTRA.items() if plain.startswith(p)), {})
    if plain.startswith(META_ONLY):
        import torch

        with torch.device("meta"):
            model = geo_core.BACKBONES.build(name, pretrained=False, **kwargs)
    else:
        model = geo_core.BACKBONES.build(name, pretrained=False, **kwargs)
    try:
        meta = geo_core.BACKBONES.info(name).metadata
        assert list(model.out_channels)
        if "out_channels" in meta and not kwargs:
            assert list(model.out_channels) == list(meta["out_channels"])
        assert meta.get("licence")
    finally:
        del model
        gc.collect()
