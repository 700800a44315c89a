"""The shipped torchgeo index matches the installed torchgeo; listing never imports torchgeo."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from geo_plugin_torchgeo._index import load_index, weight_metadata

# torchgeo.models imports kornia/timm modules that emit deprecation warnings on import.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_index_matches_installed_torchgeo() -> None:
    tg = pytest.importorskip("torchgeo")
    import torchgeo.datamodules as dms
    from torchgeo.models import get_model_weights, list_models

    data = load_index()
    assert data["torchgeo_version"] == tg.__version__, "regenerate: python -m geo_plugin_torchgeo._generate_index"
    installed = set()
    for builder in list_models():
        try:
            enum = get_model_weights(builder)
        except KeyError:
            continue
        installed |= {f"{type(w).__name__}.{w.name}" for w in enum}
    assert set(data["weights"]) | set(data["models"]) | set(data["unsupported"]) == installed
    assert not set(data["weights"]) & set(data["unsupported"]) and not set(data["models"]) & set(data["weights"])
    for name in data["datamodules"]:
        assert issubclass(getattr(dms, name), dms.NonGeoDataModule)


def test_metadata_from_meta_and_transforms() -> None:
    meta = weight_metadata("ResNet50_Weights.SENTINEL1_ALL_MOCO")
    assert meta["in_chans"] == 2 and meta["bands"] == ["VV", "VH"]
    assert meta["mean"] == [-12.59, -20.26] and meta["std"] == [5.26, 5.91]
    assert meta["file"] == "resnet50_sentinel1_all_moco-906e4356.pth"
    # Two chained Normalize steps fold into one: ((x / 255) - m) / s.
    fmow = weight_metadata("ResNet50_Weights.FMOW_RGB_GASSL")
    assert fmow["mean"] == pytest.approx([123.675, 116.28, 103.53])
    assert "unsupported" in weight_metadata("CROMABase_Weights.CROMA_VIT")


def test_listing_does_not_import_torchgeo() -> None:
    code = (
        "import sys, time, json; t=time.perf_counter(); import geo_core;"
        "b=geo_core.BACKBONES.names(source='torchgeo'); d=geo_core.DATAMODULES.names(source='torchgeo');"
        "i=geo_core.BACKBONES.info('torchgeo:ViTSmall16_Weights.SENTINEL2_ALL_DINO').metadata;"
        "print(json.dumps([len(b), len(d), i['in_chans'], time.perf_counter()-t,"
        " sorted(m for m in ('torch', 'torchgeo', 'timm') if m in sys.modules)]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    n_backbones, n_dms, chans, seconds, heavy = json.loads(out.stdout.strip().splitlines()[-1])
    assert n_backbones >= 100 and n_dms >= 50 and chans == 13
    assert heavy == [] and seconds < 1.0


def test_plugin_metadata() -> None:
    from geo_core.testing import check_plugin_metadata

    found = check_plugin_metadata("torchgeo")
    assert {"torchgeo:GeoSamplerDataModule", "torchgeo:EuroSATDataModule"} <= set(found["datamodule"])
    assert len(found["backbone"]) >= 100
