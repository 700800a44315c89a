"""Faults: SIGKILL during training and prediction, disk full while writing outputs and checkpoints."""

from __future__ import annotations

import errno
import os
import random
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import torch

from .conftest import AFFINE_MUL, geo_exe, run_cli, run_config, write_yaml

pytestmark = pytest.mark.filterwarnings(AFFINE_MUL)

KILLER = textwrap.dedent('''
    """Fault injection: SIGKILL this process at the point named by $GEO_KILL_AT ("<global step>:<phase>")."""
    import os
    import signal

    import lightning.pytorch as pl
    import torch


    def _die():
        os.kill(os.getpid(), signal.SIGKILL)


    class KillAt(pl.Callback):
        def __init__(self):
            step, _, phase = os.environ.get("GEO_KILL_AT", "-1:none").partition(":")
            self.step, self.phase = int(step), phase

        def _due(self, trainer, phase):
            return self.phase == phase and trainer.global_step == self.step

        def on_train_batch_end(self, trainer, *args):  # after the optimizer step
            if self._due(trainer, "after_step"):
                _die()

        def on_validation_batch_start(self, trainer, *args):
            if self._due(trainer, "validation"):
                _die()

        def on_save_checkpoint(self, trainer, pl_module, checkpoint):
            if self._due(trainer, "mid_checkpoint_write"):
                real = torch.save

                def half_then_die(obj, f, *a, **k):  # a partial file on disk, then the kill
                    real(obj, f, *a, **k)
                    with open(f, "r+b") as fh:
                        fh.truncate(os.path.getsize(f) // 2)
                    _die()

                torch.save = half_then_die
''')

EPOCHS, STEPS_PER_EPOCH = 4, 2
PHASES = ("after_step", "validation", "mid_checkpoint_write")


def _config(tmp: Path, data: Path, name: str) -> Path:
    killer = tmp / "killer" / "geo_reliability_killer.py"
    killer.parent.mkdir(exist_ok=True)
    killer.write_text(KILLER)
    cfg = run_config(data, tmp / name, max_epochs=EPOCHS, limit_train_batches=STEPS_PER_EPOCH, limit_val_batches=1)
    cfg["custom_modules_path"] = str(killer)
    cfg["trainer"]["callbacks"] = [{"class_path": "geo_custom_modules.geo_reliability_killer.KillAt"}]
    cfg["model"]["init_args"].update(scheduler="StepLR", scheduler_hparams={"step_size": 1, "gamma": 0.5})
    return write_yaml(tmp / f"{name}.yaml", cfg)


def _train(cfg: Path, kill_at: str | None, resume: bool) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "GEO_KILL_AT": kill_at or "-1:none"}
    args = [geo_exe(), "train", "-c", str(cfg), *(["--resume", "last"] if resume else [])]
    return subprocess.run(args, capture_output=True, text=True, env=env, timeout=300, cwd=cfg.parent)


def _last(run: Path) -> dict[str, Any]:
    return torch.load(run / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)


def _optimizer_steps(ck: dict[str, Any]) -> int:
    return int(max(float(s["step"]) for s in ck["optimizer_states"][0]["state"].values()))


@pytest.mark.slow
def test_training_killed_at_random_points_resumes_to_the_same_step_count(seg_data, tmp_path):
    rng = random.Random(13)  # seeded: the same kill points on every run of the test
    kills = []
    # kill after the first epoch's checkpoint exists; the second kill lands past the first one's resume point
    for lo, hi in ((STEPS_PER_EPOCH + 1, 2 * STEPS_PER_EPOCH), (3 * STEPS_PER_EPOCH, EPOCHS * STEPS_PER_EPOCH - 1)):
        phase = rng.choice(PHASES)
        steps = [s for s in range(lo, hi + 1) if phase == "after_step" or s % STEPS_PER_EPOCH == 0]
        kills.append(f"{rng.choice(steps)}:{phase}")  # validation and checkpoints happen at epoch ends

    ref_cfg = _config(tmp_path, seg_data, "reference")
    res = run_cli(["train", "-c", str(ref_cfg)])  # uninterrupted, in-process (the same code path)
    assert res.exit_code == 0, res.output
    ref = _last(tmp_path / "reference")
    assert ref["global_step"] == EPOCHS * STEPS_PER_EPOCH

    cfg = _config(tmp_path, seg_data, "killed")
    history = []
    for i, kill in enumerate(kills):
        proc = _train(cfg, kill, resume=i > 0)
        assert proc.returncode == -9, f"not killed at {kill}: {proc.stderr[-2000:]}"
        history.append((kill, _last(tmp_path / "killed")["global_step"]))  # last.ckpt still loads
    proc = _train(cfg, None, resume=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    done = _last(tmp_path / "killed")
    print("kill points and the global_step of last.ckpt after each kill:", history)
    assert done["global_step"] == ref["global_step"], history
    assert _optimizer_steps(done) == _optimizer_steps(ref) == EPOCHS * STEPS_PER_EPOCH, history
    assert done["epoch"] == ref["epoch"]
    assert done["lr_schedulers"][0]["last_epoch"] == ref["lr_schedulers"][0]["last_epoch"] == EPOCHS


PREDICT_KILLED = textwrap.dedent("""
    import os, signal, sys
    from geo_core.inference import _stream
    from geo_core.runs import _api

    real = _stream._read_strips

    def strips(*args, **kwargs):  # the scene is half written when the process dies
        for i, strip in enumerate(real(*args, **kwargs)):
            if i == 2:
                os.kill(os.getpid(), signal.SIGKILL)
            yield strip

    _stream._read_strips = strips
    _api.predict(sys.argv[1], ckpt=None, input=sys.argv[2], output=sys.argv[3], crop=32, stride=32)
""")


def test_prediction_killed_mid_scene_leaves_no_output_and_a_rerun_completes(seg_data, tmp_path):
    import numpy as np
    import rasterio
    from geo_core.testing import write_geotiff

    cfg = write_yaml(tmp_path / "seg.yaml", run_config(seg_data, tmp_path / "run"))
    scene = write_geotiff(tmp_path / "scene.tif", bands=6, height=32 * 6, width=48)
    out = tmp_path / "out" / "scene_pred.tif"
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    proc = subprocess.run(
        [sys.executable, "-c", PREDICT_KILLED, str(cfg), str(scene), str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == -9, proc.stderr[-3000:]
    assert not out.exists(), "a killed prediction left a file under the final name"
    leftovers = list(out.parent.iterdir())
    assert all(p.name.startswith(".scene_pred.tif.tmp-") for p in leftovers), leftovers
    res = run_cli(["predict", "-c", str(cfg), "-i", str(scene), "-o", str(out), "--crop", "32", "--stride", "32"])
    assert res.exit_code == 0, res.output
    with rasterio.open(out) as o:
        assert o.shape == (32 * 6, 48) and set(np.unique(o.read())) <= {0, 1}
    # the killed run's temporary file is gone: its process is dead, the rerun swept the folder
    assert sorted(p.name for p in out.parent.iterdir()) == ["scene_pred.tif"]


class _FullDisk:
    """Wraps a rasterio dataset opened for writing: the second strip hits a full disk."""

    def __init__(self, ds: Any) -> None:
        self._ds, self._writes = ds, 0

    def write(self, *args: Any, **kwargs: Any) -> None:
        self._writes += 1
        if self._writes == 2:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self._ds.write(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ds, name)

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: Any) -> None:
        self._ds.close()


def test_disk_full_while_writing_a_prediction(seg_data, tmp_path, monkeypatch):
    import rasterio
    from geo_core.testing import write_geotiff

    cfg = write_yaml(tmp_path / "seg.yaml", run_config(seg_data, tmp_path / "run"))
    scene = write_geotiff(tmp_path / "scene.tif", bands=6, height=32 * 3, width=40)
    real_open = rasterio.open

    def open_(path: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        ds = real_open(path, mode, *args, **kwargs)
        return _FullDisk(ds) if mode == "w" else ds

    monkeypatch.setattr(rasterio, "open", open_)
    out = tmp_path / "out"
    res = run_cli(
        [
            "predict",
            "-c",
            str(cfg),
            "-i",
            str(scene),
            "-o",
            str(out / "scene_pred.tif"),
            "--crop",
            "32",
            "--stride",
            "32",
        ]
    )
    assert res.exit_code == 1, res.output
    assert "Traceback" not in res.output and "No space left on device" in res.output, res.output
    assert "scene_pred.tif" in res.output, res.output
    assert len(res.output.strip().splitlines()) < 25, res.output
    assert list(out.iterdir()) == [], "a partial output was left behind"


def test_disk_full_while_writing_a_checkpoint(seg_data, tmp_path, monkeypatch):
    cfg = write_yaml(
        tmp_path / "seg.yaml", run_config(seg_data, tmp_path / "run", limit_train_batches=1, limit_val_batches=1)
    )

    def full(obj: Any, f: Any, *args: Any, **kwargs: Any) -> None:
        with open(f, "wb") as fh:
            fh.write(b"\0" * 128)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(torch, "save", full)
    res = run_cli(["train", "-c", str(cfg)])
    assert res.exit_code == 1, res.output
    assert "Traceback" not in res.output and "No space left on device" in res.output, res.output
    assert len(res.output.strip().splitlines()) < 25, res.output
    ckpts = tmp_path / "run" / "checkpoints"
    assert not ckpts.exists() or list(ckpts.iterdir()) == [], list(ckpts.iterdir())
