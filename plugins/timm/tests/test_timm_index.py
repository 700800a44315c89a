"""The shipped index: matches the installed timm, and listing stays torch-free and fast."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
from geo_plugin_timm._dinov3 import CFGS as DINOV3
from geo_plugin_timm._index import index_names, load_index, model_metadata


def test_index_matches_installed_timm() -> None:
    timm = pytest.importorskip("timm")
    data = load_index()
    assert data["timm_version"] == timm.__version__, "regenerate: python -m geo_plugin_timm._generate_index"
    listed = set(index_names(include_unsupported=True))
    installed = set(timm.list_models())
    assert listed == installed, (sorted(installed - listed)[:10], sorted(listed - installed)[:10])
    assert len(data["models"]) > 1000


def test_index_entries_are_consistent() -> None:
    data = load_index()
    for name, entry in data["models"].items():
        n = len(entry["out_channels"])
        assert n == len(entry["reduction"]) == len(entry["out_indices"]) > 0, name
        assert entry["output_fmt"] in ("NCHW", "NHWC"), name
        assert len(entry["input_size"]) == 3, name
    # Swin's features are channels-last under features_only; ViTs resize on the fly.
    assert data["models"]["swin_tiny_patch4_window7_224"]["output_fmt"] == "NHWC"
    assert data["models"]["vit_small_patch16_224"]["dynamic_img_size"] is True
    assert data["models"]["maxvit_tiny_tf_224"]["img_size"] is True


def test_registry_lists_and_describes_timm_backbones() -> None:
    import geo_core

    names = geo_core.BACKBONES.names(source="timm")
    assert "timm:resnet18" in names and len(names) == len(load_index()["models"]) + len(DINOV3)
    info = geo_core.BACKBONES.info("timm:resnet18")
    assert info.metadata["out_channels"] == [64, 64, 128, 256, 512]
    assert info.metadata["family"] == "resnet"
    assert model_metadata("not_a_model") == {}


def test_listing_imports_neither_torch_nor_timm() -> None:
    code = (
        "import sys, time; t=time.perf_counter(); import geo_core;"
        "n=geo_core.BACKBONES.names(source='timm'); dt=time.perf_counter()-t;"
        "import json; print(json.dumps([len(n), dt, 'torch' in sys.modules, 'timm' in sys.modules]))"
    )
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    wall = time.perf_counter() - t0
    count, seconds, torch_loaded, timm_loaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert count > 1000
    assert not torch_loaded and not timm_loaded
    assert seconds < 1.0 and wall < 5.0, (seconds, wall)
