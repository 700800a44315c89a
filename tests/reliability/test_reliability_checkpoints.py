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
    cfg = write_yaml(root / "seg.yaml", run_config(seg_data, root / "run", limit_train_batches=1,
                                                   limit_val_batches=1))
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


def _cli(run: Path, command: str, ckpt: Path) -> list[str]:
    args = [command, "-c", str(run / "seg.yaml")]
    if command == "predict":
        scenes = run.parent / "scenes"
        from geo_core.testing import write_geotiff

        write_geotiff(scenes / "s.tif", bands=6, height=32, width=32)
        args += ["-i", str(scenes), "-o", str(run.parent / "preds")]
    return [*args, "--resume" if command == "train" else "--ckpt", str(ckpt)]


@pytest.mark.parametrize("command", ["train", "validate", "test", "predict"])
@pytest.mark.parametrize(("make", "needle"), [(_pickled, "weights_only"), (_truncated, "truncated")])
def test_cli_refuses_pickled_and_truncated_checkpoints_with_an_explanation(run, command, make, needle):
    bad = make(run)
    res = run_cli(_cli(run, command, bad))
    assert res.exit_code == 1, res.output
    assert "Traceback" not in res.output and bad.name in res.output and needle in res.output, res.output
    assert len(res.output.strip().splitlines()) < 25, res.output
    assert not (run.parent / "preds").exists()


def test_state_dict_loader_refuses_pickle_and_the_opt_in_warns(run):
    from geo_core.models._state import load_state_dict
    from geo_core.tasks import SemanticSegmentationTask

    def task():
        return SemanticSegmentationTask(model_factory="EncoderDecoderFactory",
                                        model_args={"backbone": "tiny_cnn", "decoder": "UNetDecoder",
                                                    "num_classes": 2})

    bad = _pickled(run)
    with pytest.raises(CheckpointError, match=r"(?s)pickled\.ckpt.*weights_only=False"):
        load_state_dict(task(), bad)
    with pytest.warns(UserWarning, match=r"weights_only=False.*trust"):
        load_state_dict(task(), bad, weights_only=False)
    with pytest.raises(CheckpointError, match="truncated"):
        load_state_dict(task(), _truncated(run))


def test_predict_checkpoint_loader_refuses_pickle(run):
    from geo_core.inference._stream import load_task_checkpoint
    from geo_core.tasks import SemanticSegmentationTask

    task = SemanticSegmentationTask(model_factory="EncoderDecoderFactory",
                                    model_args={"backbone": "tiny_cnn", "decoder": "UNetDecoder", "num_classes": 2})
    with pytest.raises(CheckpointError, match="objects beyond plain weights"):
        load_task_checkpoint(task, _pickled(run))
    with pytest.raises(CheckpointError, match="truncated"):
        load_task_checkpoint(task, _truncated(run))
    load_task_checkpoint(task, run / "run" / "checkpoints" / "last.ckpt")


def test_checkpoint_and_prediction_writes_go_through_a_temporary_name(seg_data, monkeypatch, tmp_path):
    """Every byte of a checkpoint or an output is written under a `.<name>.tmp-*` name, then renamed."""
    import geo_core._atomic as atomic

    cfg = write_yaml(tmp_path / "seg.yaml", run_config(seg_data, tmp_path / "run", limit_train_batches=1,
                                                       limit_val_batches=1))

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
    res = run_cli(["predict", "-c", str(cfg), "--ckpt", "last", "-i", str(scene), "-o",
                   str(tmp_path / "pred.tif"), "--crop", "32", "--stride", "32", "--quicklook"])
    assert res.exit_code == 0, res.output
    assert sorted(d for _, d in renames) == ["pred.png", "pred.tif"]
    assert all(s.startswith(f".{d}.tmp-") for s, d in renames)
