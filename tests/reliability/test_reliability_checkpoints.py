"""Untrusted and damaged checkpoints: pickle refused by default (explicit, warned opt-in), truncation detected,
writes atomic."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import torch
from geo_core import CheckpointError

from .conftest import AFFINE_MUL, run_cli, run_config, write_yaml

pytestmark = pytest.mark.filterwarnings(AFFINE_MUL)


class Payload:
    """Any non-tensor object: loading it means running pickle (arbitrary code on load)."""

    def __reduce__(self):
        return (os.getcwd, ())


@pytest.fixture(scope="module")
def trained(seg_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run directory with best/last checkpoints of one tiny epoch."""
    root = tmp_path_factory.mktemp("trained")
    cfg = write_yaml(root / "seg.yaml", run_config(seg_data, root / "run", limit_train_batches=1, limit_val_batches=1))
    res = run_cli(["train", "-c", str(cfg)])
    assert res.exit_code == 0, res.output
    return root


@pytest.fixture
def run(trained: Path, tmp_path: Path) -> Path:
    shutil.copytree(trained, tmp_path / "t", symlinks=True)
    cfg = tmp_path / "t" / "seg.yaml"
    cfg.write_text(cfg.read_text().replace(str(trained), str(tmp_path / "t")))
    return tmp_path / "t"


def _pickled(run: Path) -> Path:
    last = run / "run" / "checkpoints" / "last.ckpt"
    ck = torch.load(last, map_location="cpu", weights_only=True)
    ck["extra"] = Payload()
    bad = run / "pickled.ckpt"
    torch.save(ck, bad)
    return bad


def _truncated(run: Path) -> Path:
    last = run / "run" / "checkpoints" / "last.ckpt"
    bad = run / "truncated.ckpt"
    bad.write_bytes(last.read_bytes()[: last.stat().st_size // 2])
    return bad


def _garbage(run: Path) -> Path:
    bad = run / "garbage.ckpt"
    bad.write_bytes(b"this is not a checkpoint at all\n" * 8)
    return bad


def _cli(run: Path, command: str, ckpt: Path) -> list[str]:
    args = [command, "-c", str(run / "seg.yaml")]
    if command == "predict":
        scenes = run.parent / "scenes"
        from geo_core.testing import write_geotiff

        write_geotiff(scenes / "s.tif", bands=6, height=32, width=32)
        args += ["-i", str(scenes), "-o", str(run.parent / "preds")]
    return [*args, "--resume" if command == "train" else "--ckpt", str(ckpt)]


def _raw_pickle(run: Path) -> Path:
    """A plain Python pickle (pickle.dump of a dict), not a torch checkpoint (issue 22)."""
    import pickle

    bad = run / "raw.pkl"
    bad.write_bytes(pickle.dumps({"state_dict": {"w": [1.0, 2.0]}, "epoch": 3}))
    return bad


@pytest.mark.parametrize("command", ["train", "validate", "test", "predict"])
@pytest.mark.parametrize(
    ("make", "needle"),
    [
        (_pickled, "weights_only"),
        (_truncated, "truncated"),
        (_garbage, "truncated or corrupt"),
        (_raw_pickle, "untrusted pickle"),
    ],
)
def test_cli_refuses_pickled_and_truncated_checkpoints_with_an_explanation(run, command, make, needle):
    bad = make(run)
    res = run_cli(_cli(run, command, bad))
    assert res.exit_code == 1, res.output
    assert "Traceback" not in res.output and bad.name in res.output and needle in res.output, res.output
    assert len(res.output.strip().splitlines()) < 25, res.output
    assert not (run.parent / "preds").exists()
    if make is _garbage:  # a damaged file is not offered --trust-checkpoint
        assert "refused" not in res.output and "trust" not in res.output, res.output
    if make is _raw_pickle:  # not "truncated or corrupt": it is whole, and loading it would run its code
        assert "corrupt" not in res.output and "--trust-checkpoint" in res.output, res.output


def test_checkpoints_follow_the_umask(trained):
    """issue 22: checkpoints were 0600 (the temporary file's mode); predictions were already 0644."""
    umask = os.umask(0)
    os.umask(umask)
    for ck in (trained / "run" / "checkpoints").glob("*.ckpt"):
        assert ck.stat().st_mode & 0o777 == 0o666 & ~umask, oct(ck.stat().st_mode)


def test_loaders_call_a_raw_pickle_untrusted(run):
    from geo_core.models._state import load_state_dict
    from geo_core.tasks import SemanticSegmentationTask

    task = SemanticSegmentationTask(
        model_factory="EncoderDecoderFactory",
        model_args={"backbone": "tiny_cnn", "decoder": "UNetDecoder", "num_classes": 2},
    )
    with pytest.raises(CheckpointError, match=r"raw\.pkl: refused: an untrusted pickle.*weights_only=False"):
        load_state_dict(task, _raw_pickle(run))


@pytest.mark.filterwarnings("ignore:The dirpath has changed")  # the fixture copies the run to a new folder
@pytest.mark.parametrize("command", ["train", "validate", "test", "predict"])
def test_trust_checkpoint_opts_in_to_pickled_checkpoints_and_says_so(run, command, caplog):
    bad = _pickled(run)
    with caplog.at_level("WARNING", logger="geo_core.checkpoints"):
        res = run_cli([*_cli(run, command, bad), "--trust-checkpoint"])
    assert res.exit_code == 0, res.output
    assert f"loading {bad}" in caplog.text and "only for files you trust" in caplog.text
    if command == "predict":
        assert (run.parent / "preds" / "s_pred.tif").is_file()


def test_state_dict_loader_refuses_pickle_and_the_opt_in_warns(run):
    from geo_core.models._state import load_state_dict
    from geo_core.tasks import SemanticSegmentationTask

    def task():
        return SemanticSegmentationTask(
            model_factory="EncoderDecoderFactory",
            model_args={"backbone": "tiny_cnn", "decoder": "UNetDecoder", "num_classes": 2},
        )

    bad = _pickled(run)
    with pytest.raises(CheckpointError, match=r"(?s)pickled\.ckpt.*weights_only=False"):
        load_state_dict(task(), bad)
    with pytest.warns(UserWarning, match=r"weights_only=False.*trust"):
        load_state_dict(task(), bad, weights_only=False)
    with pytest.raises(CheckpointError, match="truncated"):
        load_state_dict(task(), _truncated(run))
    with pytest.raises(CheckpointError, match=r"garbage\.ckpt: cannot read the checkpoint \(truncated or"):
        load_state_dict(task(), _garbage(run))


def test_predict_checkpoint_loader_refuses_pickle(run):
    from geo_core.inference._stream import load_task_checkpoint
    from geo_core.tasks import SemanticSegmentationTask

    task = SemanticSegmentationTask(
        model_factory="EncoderDecoderFactory",
        model_args={"backbone": "tiny_cnn", "decoder": "UNetDecoder", "num_classes": 2},
    )
    with pytest.raises(CheckpointError, match=r"(?s)objects beyond plain weights.*--trust-checkpoint"):
        load_task_checkpoint(task, _pickled(run))
    load_task_checkpoint(task, _pickled(run), trust_checkpoint=True)
    with pytest.raises(CheckpointError, match="truncated"):
        load_task_checkpoint(task, _truncated(run))
    with pytest.raises(CheckpointError, match=r"garbage\.ckpt: cannot read the checkpoint \(truncated or corrupt\)"):
        load_task_checkpoint(task, _garbage(run))
    load_task_checkpoint(task, run / "run" / "checkpoints" / "last.ckpt")


def test_checkpoint_and_prediction_writes_go_through_a_temporary_name(seg_data, monkeypatch, tmp_path):
    """Every byte of a checkpoint or an output is written under a `.<name>.tmp-*` name, then renamed."""
    import geo_core._atomic as atomic

    cfg = write_yaml(
        tmp_path / "seg.yaml", run_config(seg_data, tmp_path / "run", limit_train_batches=1, limit_val_batches=1)
    )

    renames: list[tuple[str, str]] = []
    real = os.replace

    def spy(src, dst):
        renames.append((Path(src).name, Path(dst).name))
        return real(src, dst)

    monkeypatch.setattr(atomic.os, "replace", spy)
    res = run_cli(["train", "-c", str(cfg)])
    assert res.exit_code == 0, res.output
    ckpts = {d for _, d in renames}
    assert "last.ckpt" in ckpts and any(d.startswith("best-") for d in ckpts), renames
    assert all(s.startswith(f".{d}.tmp-") for s, d in renames), renames
    renames.clear()
    from geo_core.testing import write_geotiff

    scene = write_geotiff(tmp_path / "scene.tif", bands=6, height=40, width=40)
    res = run_cli(
        [
            "predict",
            "-c",
            str(cfg),
            "--ckpt",
            "last",
            "-i",
            str(scene),
            "-o",
            str(tmp_path / "pred.tif"),
            "--crop",
            "32",
            "--stride",
            "32",
            "--quicklook",
        ]
    )
    assert res.exit_code == 0, res.output
    assert sorted(d for _, d in renames) == ["pred.png", "pred.tif"]
    assert all(s.startswith(f".{d}.tmp-") for s, d in renames)


def test_leftovers_of_dead_writers_are_swept_and_nothing_else(tmp_path):
    """A SIGKILLed writer leaves `.<name>.tmp-<host>-<pid>-*`; the next atomic write there removes it."""
    import subprocess
    import sys

    import geo_core._atomic as atomic

    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True
    )
    dead_pid = int(dead.stdout)
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        names = {
            "stale": f".last.ckpt.tmp-{atomic._HOST}-{dead_pid}-ab12.ckpt",
            "live": f".best.ckpt.tmp-{atomic._HOST}-{live.pid}-cd34.ckpt",
            "other_host": f".last.ckpt.tmp-{atomic._HOST}x-{dead_pid}-ef56.ckpt",
            "user_file": f"notes.tmp-{atomic._HOST}-{dead_pid}-x.txt",
        }
        for n in names.values():
            (tmp_path / n).write_text("partial")
        with atomic.atomic_open(tmp_path / "last.ckpt") as fh:
            fh.write("new")
        left = sorted(p.name for p in tmp_path.iterdir())
        assert names["stale"] not in left
        assert {names["live"], names["other_host"], names["user_file"], "last.ckpt"} == set(left)
        assert (tmp_path / "last.ckpt").read_text() == "new"
    finally:
        live.kill()
        live.wait()


def test_trust_checkpoint_without_geo_checkpoint_io_is_a_config_error():
    from geo_core import ConfigError
    from geo_core.runs._api import _trusting
    from geo_core.runs._config import RunConfig

    run = RunConfig({"trainer": {"plugins": []}}, "x", Path("."))
    with pytest.raises(ConfigError, match="AtomicCheckpointIO"):
        _trusting(run, True)
    assert _trusting(run, False) is run
