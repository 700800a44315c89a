"""The listing commands never import torch, lightning, rasterio or a wrapped library."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

HEAVY = (
    "torch",
    "lightning",
    "pytorch_lightning",
    "rasterio",
    "timm",
    "segmentation_models_pytorch",
    "torchgeo",
    "mmseg",
    "mmcv",
    "torchvision",
    "numpy",
)

DRIVER = """
import sys
from geo_core.cli._app import app, _register_plugin_commands
_register_plugin_commands()
try:
    app(args={args!r}, standalone_mode=False)
except SystemExit:
    pass
heavy = sorted(m for m in sys.modules if m.split('.')[0] in {heavy!r})
print('HEAVY=' + ','.join(heavy), file=sys.stderr)
"""


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["plugins", "list"],
        ["plugins", "list", "--json"],
        ["list", "backbones"],
        ["list", "decoders", "--source", "core"],
        ["list", "backbones", "--filter", "tiny*"],
        ["info", "backbone", "tiny_cnn"],
        ["info", "decoder", "core:UNetDecoder", "--json"],
        ["info", "core:UNetDecoder"],
        ["train", "--help"],
        ["predict", "--help"],
    ],
)
def test_listing_commands_import_nothing_heavy(args):
    code = DRIVER.format(args=args, heavy=set(HEAVY))
    env = {k: v for k, v in os.environ.items() if not k.startswith("GEO_")}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    heavy_line = [ln for ln in proc.stderr.splitlines() if ln.startswith("HEAVY=")][-1]
    assert heavy_line == "HEAVY=", f"{args} imported {heavy_line}"


def test_console_script_help_runs_without_torch():
    exe = os.path.join(os.path.dirname(sys.executable), "geo")
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", exe, "--help"], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0
    assert "Usage: geo" in proc.stdout
    imported = {ln.split("|")[-1].strip().split(".")[0] for ln in proc.stderr.splitlines() if "|" in ln}
    assert not imported & set(HEAVY), sorted(imported & set(HEAVY))


_GOOD = {
    "trainer": {"max_epochs": 1},
    "model": {
        "class_path": "SemanticSegmentationTask",
        "init_args": {
            "model_factory": "EncoderDecoderFactory",
            "loss": "ce",
            "model_args": {"backbone": "tiny_cnn", "decoder": "UNetDecoder", "num_classes": 2},
        },
    },
    "data": {"class_path": "geo_core.testing.TinyGeoDataModule", "init_args": {"num_samples": 2}},
}


@pytest.mark.parametrize(
    ("dotted", "value"),
    [
        ("model.init_args.model_args.backbone", "tiny_cnnn"),
        ("model.init_args.model_args.decoder", "UNetDecodr"),
        ("model.init_args.loss", "cee"),
        ("model.init_args.model_factory", "EncoderDecoderFactroy"),
        ("model.class_path", "SemanticSegmentationTsk"),
        ("data.class_path", "GenericNonGeoSegmentationDataModul"),
    ],
)
def test_a_config_naming_an_unknown_component_fails_before_torch(tmp_path, dotted, value):
    """issue 22: such a config took 26 s (torch, lightning and every class imported) before saying so."""
    import copy
    import time

    import yaml

    cfg = copy.deepcopy(_GOOD)
    *parents, leaf = dotted.split(".")
    node = cfg
    for p in parents:
        node = node[p]
    node[leaf] = value
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(cfg))
    env = {k: v for k, v in os.environ.items() if not k.startswith("GEO_")}
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", DRIVER.format(args=["train", "-c", str(path)], heavy=set(HEAVY))],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    elapsed = time.perf_counter() - start
    assert "unknown" in proc.stderr and value in proc.stderr, proc.stderr
    heavy_line = [ln for ln in proc.stderr.splitlines() if ln.startswith("HEAVY=")][-1]
    assert heavy_line == "HEAVY=", f"{dotted}: {heavy_line}"
    assert elapsed < 15, elapsed  # under 2 s on an idle machine; the bound only catches a return of the imports
