"""``geo export`` end to end from a YAML config and a checkpoint, and the ways export fails."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import torch
import yaml
from geo_core import CheckpointError, ConfigError, MissingDependencyError, ModelOutput
from geo_plugin_onnx import ExportCheckError, ExportError, export_onnx
from torch import nn

from .conftest import run_onnx

# Lightning 2.6 still calls a torch pytree API that torch 2.14 deprecates (FutureWarning inside lightning);
# geo_core.runs._config calls jsonargparse's instantiate_classes, deprecated in jsonargparse 4.49 (core's code).
pytestmark = [
    pytest.mark.filterwarnings("ignore:`isinstance\\(treespec, LeafSpec\\)` is deprecated:FutureWarning"),
    pytest.mark.filterwarnings("ignore::jsonargparse._deprecated.JsonargparseDeprecationWarning"),
]


def _config(tmp_path):
    cfg = {
        "trainer": {
            "max_epochs": 1,
            "accelerator": "cpu",
            "devices": 1,
            "enable_progress_bar": False,
            "enable_model_summary": False,
            "default_root_dir": str(tmp_path / "run"),
        },
        "model": {
            "class_path": "SemanticSegmentationTask",
            "init_args": {
                "model_factory": "EncoderDecoderFactory",
                "model_args": {"backbone": "tiny_cnn", "decoder": "UNetDecoder", "num_classes": 2},
            },
        },
        "data": {
            "class_path": "geo_core.testing.TinyGeoDataModule",
            "init_args": {"num_samples": 2, "size": 32, "batch_size": 2},
        },
    }
    path = tmp_path / "seg.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _cli(args):
    from geo_core.cli._app import _register_plugin_commands, app
    from typer.testing import CliRunner

    _register_plugin_commands()  # `geo export` comes from this plugin's geo_cli_commands hook

    return CliRunner().invoke(app, args, catch_exceptions=False)


def _checkpoint(tmp_path, seed: int = 1):
    """A checkpoint as `geo train` writes it (Lightning layout), with weights unlike a fresh build."""
    import lightning.pytorch as pl
    from geo_core.tasks import SemanticSegmentationTask

    torch.manual_seed(seed)
    task = SemanticSegmentationTask(
        model_factory="EncoderDecoderFactory",
        model_args={"backbone": "tiny_cnn", "decoder": "UNetDecoder", "num_classes": 2},
    )
    trainer = pl.Trainer(
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        accelerator="cpu",
        max_epochs=0,
    )
    trainer.strategy.connect(task)
    path = tmp_path / "run" / "checkpoints" / "last.ckpt"
    trainer.save_checkpoint(path)
    return path, task.eval()


def test_geo_export_from_config_and_last_checkpoint(tmp_path):
    cfg = _config(tmp_path)
    _, task = _checkpoint(tmp_path)
    out = tmp_path / "out" / "model.onnx"
    res = _cli(["export", "-c", str(cfg), "--ckpt", "last", "--format", "onnx", "--output", str(out)])
    assert res.exit_code == 0, res.output
    assert f"wrote {out}" in res.output and "input shape [1, 6, 32, 32]" in res.output  # from the datamodule
    assert "dynamic axes: batch (axis 0), height (axis 2), width (axis 3)" in res.output
    assert "max abs difference" in res.output
    x = np.random.default_rng(0).standard_normal((2, 6, 48, 40), dtype=np.float32)
    with torch.no_grad():
        ref = task(torch.from_numpy(x)).output.numpy()
    assert np.abs(run_onnx(out, x) - ref).max() < 1e-4  # the checkpoint's weights, not a fresh build


def test_geo_export_static_with_input_shape(tmp_path):
    cfg = _config(tmp_path)
    ckpt, _ = _checkpoint(tmp_path)
    out = tmp_path / "static.onnx"
    res = _cli(
        ["export", "-c", str(cfg), "--ckpt", str(ckpt), "-o", str(out), "--input-shape", "2,6,16,16", "--static"]
    )
    assert res.exit_code == 0, res.output
    assert "fixed input shape" in res.output and "input shape [2, 6, 16, 16]" in res.output
    import onnx

    dims = [d.dim_value for d in onnx.load(str(out)).graph.input[0].type.tensor_type.shape.dim]
    assert dims == [2, 6, 16, 16]


def test_geo_export_errors_exit_nonzero_with_a_message(tmp_path):
    cfg = _config(tmp_path)
    res = _cli(["export", "-c", str(cfg), "--ckpt", "best", "-o", str(tmp_path / "m.onnx")])
    assert res.exit_code == 1 and "no 'best' checkpoint" in res.output
    res = _cli(["export", "-c", str(cfg), "-o", str(tmp_path / "m.tflite"), "--format", "tflite"])
    assert res.exit_code == 2 and "unknown export format 'tflite'; supported: onnx" in res.output
    res = _cli(["export", "-c", str(cfg), "-o", str(tmp_path / "m.onnx"), "--input-shape", "1,6,a,32"])
    assert res.exit_code == 2 and "--input-shape '1,6,a,32' is not a list of integers" in res.output
    assert not list(tmp_path.glob("*.onnx")) and not (tmp_path / "run").exists()


def test_geo_export_help_imports_no_torch():
    code = (
        "import sys\nfrom geo_core.cli._app import _register_plugin_commands, app\n"
        "_register_plugin_commands()\ntry:\n    app(args=['export', '--help'])\n"
        "except SystemExit:\n    pass\nprint(sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'torch', 'onnx', 'onnxscript', 'onnxruntime', 'lightning', 'numpy'}), file=sys.stderr)"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("GEO_")}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "--input-shape" in proc.stdout and proc.stderr.strip().splitlines()[-1] == "[]"


class _Untraceable(nn.Module):
    """Leaves the tensor world (numpy), which no exporter can follow."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 2, 1)

    def forward(self, x):
        y = self.conv(x)
        return ModelOutput(torch.from_numpy(np.ascontiguousarray(y.detach().numpy()) * 2.0))


class _Noisy(nn.Module):
    """Different output on every call: the onnxruntime check must catch it."""

    def forward(self, x):
        return x + torch.rand_like(x)


class _Dict(nn.Module):
    def forward(self, x):
        return {"out": x}


def test_a_model_that_cannot_export_names_itself_and_writes_nothing(tmp_path):
    with pytest.raises(ExportError, match=r"cannot export _Untraceable to ONNX: torch.onnx.export failed") as info:
        export_onnx(_Untraceable(), tmp_path / "m.onnx", (1, 3, 8, 8))
    assert info.value.model == "_Untraceable" and info.value.__cause__ is not None
    with pytest.raises(ExportError, match=r"_Dict .*returned dict, not a ModelOutput or a tensor"):
        export_onnx(_Dict(), tmp_path / "m.onnx", (1, 3, 8, 8))
    assert list(tmp_path.iterdir()) == []


def test_a_mismatch_beyond_the_tolerance_fails_and_writes_nothing(tmp_path):
    (tmp_path / "m.onnx").write_bytes(b"previous")
    with pytest.raises(ExportCheckError, match=r"cannot export _Noisy to ONNX: onnxruntime's output differs") as info:
        export_onnx(_Noisy(), tmp_path / "m.onnx", (1, 3, 8, 8))
    assert info.value.max_abs_diff > info.value.allowed
    assert [p.name for p in tmp_path.iterdir()] == ["m.onnx"] and (tmp_path / "m.onnx").read_bytes() == b"previous"


def test_bad_or_unknown_input_shapes_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match=r"must be \(B, C, H, W\)"):
        export_onnx(_Noisy(), tmp_path / "m.onnx", (3, 8, 8))
    with pytest.raises(ConfigError, match="cannot tell the input shape of _Noisy; pass sample_input_shape"):
        export_onnx(_Noisy(), tmp_path / "m.onnx")


@pytest.mark.parametrize("missing", ["onnx", "onnxscript", "onnxruntime"])
def test_missing_onnx_packages_name_the_install(tmp_path, monkeypatch, missing):
    monkeypatch.setitem(sys.modules, missing, None)  # import of a None entry raises ImportError
    with pytest.raises(MissingDependencyError, match=r"pip install geo-plugin-onnx") as info:
        export_onnx(_Noisy(), tmp_path / "m.onnx", (1, 3, 8, 8))
    assert info.value.package == missing


def test_a_checkpoint_that_does_not_fit_is_a_checkpoint_error(tmp_path):
    from geo_plugin_onnx import export_from_config

    cfg = _config(tmp_path)
    bad = tmp_path / "bad.ckpt"
    torch.save({"state_dict": {"model.nope": torch.zeros(1)}}, bad)
    with pytest.raises(CheckpointError, match="weights do not fit"):
        export_from_config(cfg, tmp_path / "m.onnx", ckpt=str(bad))


def test_geo_export_has_the_trust_checkpoint_flag_its_refusal_names(tmp_path, caplog):
    """issue 22: the refusal said "pass --trust-checkpoint", which geo export did not accept."""
    import pathlib

    cfg = _config(tmp_path)
    ckpt, _ = _checkpoint(tmp_path)
    ck = torch.load(ckpt, weights_only=True)
    ck["note"] = pathlib.PurePosixPath("/a/pickled/object")  # any non-tensor object needs the unpickler
    torch.save(ck, ckpt)
    out = tmp_path / "m.onnx"
    res = _cli(["export", "-c", str(cfg), "--ckpt", str(ckpt), "-o", str(out)])
    assert res.exit_code == 1 and "--trust-checkpoint" in res.output and not out.exists(), res.output
    with caplog.at_level("WARNING", logger="geo_core.checkpoints"):
        res = _cli(["export", "-c", str(cfg), "--ckpt", str(ckpt), "-o", str(out), "--trust-checkpoint"])
    assert res.exit_code == 0 and out.is_file(), res.output
    assert "only for files you trust" in caplog.text
