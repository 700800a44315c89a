from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

# Lightning 2.6 still calls a torch pytree API that torch 2.14 deprecates (FutureWarning inside lightning).
LIGHTNING_PYTREE = "ignore:`isinstance\\(treespec, LeafSpec\\)` is deprecated:FutureWarning"

KILLER = textwrap.dedent('''
    """A tiny CNN that SIGKILLs its own process on forward number $GEO_TEST_KILL_AFTER of rank $GEO_TEST_KILL_RANK."""
    import os
    import signal

    import geo_core
    from geo_core.testing import TinyCNNBackbone


    @geo_core.BACKBONES.register(name="kill_cnn")
    class KillCNN(TinyCNNBackbone):
        calls = 0

        def forward(self, x):
            KillCNN.calls += 1
            after = os.environ.get("GEO_TEST_KILL_AFTER")
            if after and os.environ.get("RANK") == os.environ.get("GEO_TEST_KILL_RANK") and KillCNN.calls > int(after):
                os.kill(os.getpid(), signal.SIGKILL)
            return super().forward(x)
''')

MODEL_ARGS = {"backbone": "tiny_cnn", "decoder": "UNetDecoder", "num_classes": 3}


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """A config (kill_cnn + UNet), a checkpoint of random weights and 40 scenes of 64x64."""
    import torch
    from geo_core.tasks import SemanticSegmentationTask
    from geo_core.testing import write_geotiff

    root = tmp_path_factory.mktemp("scaleout")
    (root / "killer.py").write_text(KILLER)
    cfg = {
        "custom_modules_path": str(root / "killer.py"),
        "trainer": {"accelerator": "cpu", "devices": 1, "logger": False, "enable_progress_bar": False},
        "model": {
            "class_path": "SemanticSegmentationTask",
            "init_args": {
                "model_factory": "EncoderDecoderFactory",
                "model_args": {**MODEL_ARGS, "backbone": "kill_cnn"},
            },
        },
    }
    (root / "cfg.yaml").write_text(yaml.safe_dump(cfg))
    torch.manual_seed(0)
    task = SemanticSegmentationTask(model_factory="EncoderDecoderFactory", model_args=MODEL_ARGS)
    torch.save({"state_dict": task.state_dict()}, root / "w.ckpt")
    for i in range(40):
        write_geotiff(root / "scenes" / f"s{i:02d}.tif", bands=6, height=64, width=64, seed=i)
    yield root
    from geo_core import BACKBONES

    if "kill_cnn" in BACKBONES:  # registered by the in-process runs: other tests list local components
        BACKBONES.unregister("kill_cnn")


def predict_args(root: Path, out: Path, *extra: str) -> list[str]:
    return [
        "predict",
        "-c",
        str(root / "cfg.yaml"),
        "--ckpt",
        str(root / "w.ckpt"),
        "-i",
        str(root / "scenes"),
        "-o",
        str(out),
        "--crop",
        "64",
        "--stride",
        "64",
        "--no-progress",
        *extra,
    ]


def torchrun(args: list[str], nproc: int = 2, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    geo = os.path.join(os.path.dirname(sys.executable), "geo")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}", geo, *args]
    full = {**os.environ, "OMP_NUM_THREADS": "1", **(env or {})}
    return subprocess.run(cmd, capture_output=True, text=True, env=full, timeout=240)


def run_cli(args: list[str]):
    from geo_core.cli._app import app
    from typer.testing import CliRunner

    return CliRunner().invoke(app, args, catch_exceptions=False)
