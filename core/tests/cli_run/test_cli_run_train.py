from __future__ import annotations

import os
import subprocess

import pytest
import torch
import yaml
from geo_core import CheckpointError
from geo_core import runs as api

from .conftest import LIGHTNING_PYTREE, base_config, geo_exe, run_cli

pytestmark = pytest.mark.filterwarnings(LIGHTNING_PYTREE)


def test_train_writes_best_last_and_csv_logs_then_test_and_validate(write_config, tmp_path, marker):
    cfg = write_config()
    res = run_cli(["train", "-c", str(cfg), "trainer.max_epochs=2", "trainer.limit_train_batches=1"])
    assert res.exit_code == 0, res.output
    assert marker.exists()
    ckpts = tmp_path / "run" / "checkpoints"
    assert (ckpts / "last.ckpt").is_file()
    assert len(list(ckpts.glob("best-*.ckpt"))) == 1
    metrics = list((tmp_path / "run" / "logs").glob("version_*/metrics.csv"))
    assert metrics and "val/loss" in metrics[0].read_text()
    assert not list(ckpts.glob(".*tmp*")), "temporary checkpoint files left behind"
    # Python API == CLI
    out = api.test(cfg, ckpt="best")
    assert "test/mIoU" in out[0]
    res = run_cli(["validate", "-c", str(cfg), "--ckpt", "last"])
    assert res.exit_code == 0, res.output


def test_missing_checkpoint_is_a_clear_error(write_config):
    with pytest.raises(CheckpointError, match="no 'last' checkpoint"):
        api.train(write_config(), resume="last")
    res = run_cli(["test", "-c", str(write_config()), "--ckpt", "nowhere.ckpt"])
    assert res.exit_code == 1 and "does not exist" in res.output


def test_atomic_checkpoint_io_never_leaves_a_partial_file(tmp_path, monkeypatch):
    from geo_core.tasks import AtomicCheckpointIO

    io = AtomicCheckpointIO()
    target = tmp_path / "last.ckpt"
    io.save_checkpoint({"a": torch.zeros(3)}, target)
    good = target.read_bytes()

    def broken_save(obj, f, *a, **k):
        with open(f, "wb") as fh:
            fh.write(b"partial")
        raise KeyboardInterrupt  # killed mid-write

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(KeyboardInterrupt):
        io.save_checkpoint({"a": torch.ones(3)}, target)
    assert target.read_bytes() == good
    assert [p.name for p in tmp_path.iterdir()] == ["last.ckpt"]


@pytest.mark.slow
def test_killed_run_resumes_from_last_with_optimizer_state(tmp_path, custom_module):
    cfg = base_config(tmp_path, custom_module)
    cfg["trainer"].update(max_epochs=3, limit_train_batches=2)
    killer = {"class_path": "geo_custom_modules.geo_test_components.KillAt", "init_args": {"epoch": 2}}
    cfg["trainer"]["callbacks"] = [killer]
    cfg["model"]["init_args"].update(scheduler="StepLR", scheduler_hparams={"step_size": 1, "gamma": 0.5})
    path = tmp_path / "seg.yaml"
    path.write_text(yaml.safe_dump(cfg))
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    proc = subprocess.run(
        [geo_exe(), "train", "-c", str(path)], capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path
    )
    assert proc.returncode == -9, proc.stderr[-3000:]  # SIGKILLed at the start of epoch 2
    last = tmp_path / "run" / "checkpoints" / "last.ckpt"
    before = torch.load(last, map_location="cpu", weights_only=False)
    assert before["epoch"] == 1 and before["global_step"] == 4
    assert before["optimizer_states"][0]["state"], "optimizer moments are checkpointed"
    # resume without the killer; the Python API and the CLI share the code path
    cfg["trainer"]["callbacks"] = []
    path.write_text(yaml.safe_dump(cfg))
    res = run_cli(["train", "-c", str(path), "--resume", "last"])
    assert res.exit_code == 0, res.output
    after = torch.load(last, map_location="cpu", weights_only=False)
    assert after["epoch"] == 2 and after["global_step"] == 6
    # StepLR halved the lr once per finished epoch: 0.01 -> 0.0025 after epoch 1 -> 0.00125 after epoch 2
    assert after["lr_schedulers"][0]["last_epoch"] == 3
    assert after["optimizer_states"][0]["param_groups"][0]["lr"] == pytest.approx(0.01 * 0.5**3)


@pytest.mark.slow
@pytest.mark.ddp
def test_two_process_ddp_on_cpu_gloo(tmp_path, custom_module):
    cfg = base_config(tmp_path, custom_module)
    cfg["trainer"].update(devices=2, strategy="ddp", max_epochs=1, limit_train_batches=2, limit_val_batches=1)
    cfg["data"]["init_args"]["num_samples"] = 16  # 2 batches of 4 per rank
    path = tmp_path / "ddp.yaml"
    path.write_text(yaml.safe_dump(cfg))
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "MASTER_PORT": str(29500 + os.getpid() % 1000)}
    proc = subprocess.run(
        [geo_exe(), "train", "-c", str(path)], capture_output=True, text=True, env=env, timeout=400, cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "distributed_backend=gloo" in proc.stderr + proc.stdout
    assert "All distributed processes registered" in proc.stderr + proc.stdout
    ck = torch.load(tmp_path / "run" / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    assert ck["global_step"] == 2
