"""CLI conventions a newcomer expects (issue 22): -h, completion, --version, Ctrl-C, where outputs went, geo init."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

GEO = [os.path.join(os.path.dirname(sys.executable), "geo")]  # the console script: completion keys on its name


def _env(**extra: str) -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if not k.startswith("GEO_")}, **extra}


def _geo(*args: str, cwd: Path | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*GEO, *args], capture_output=True, text=True, env=_env(**env), cwd=cwd, timeout=300)


def _cli(args: list[str]):
    import lightning.pytorch  # noqa: F401  (bind Lightning's log handler outside the runner's streams)
    from geo_core.cli._app import app
    from typer.testing import CliRunner

    return CliRunner().invoke(app, args)


@pytest.mark.parametrize("args", [["-h"], ["train", "-h"], ["predict", "-h"], ["init", "-h"], ["plugins", "-h"]])
def test_dash_h_is_help(args):
    res = _cli(args)
    assert res.exit_code == 0 and "Usage: geo" in res.output, res.output


def test_shell_completion_is_offered_and_completes_verbs():
    assert "--install-completion" in _cli(["--help"]).output
    proc = _geo(_GEO_COMPLETE="complete_bash", COMP_WORDS="geo tr", COMP_CWORD="1")
    assert proc.returncode == 0 and proc.stdout.split() == ["train"], proc


def test_version_lists_plugins_torch_and_lightning_without_importing_them():
    code = (
        "import sys\nfrom geo_core.cli._app import app\ntry:\n    app(args=['--version'])\nexcept SystemExit:\n"
        "    pass\nprint('HEAVY=' + ','.join(m for m in ('torch', 'lightning') if m in sys.modules))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=_env(), timeout=120)
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("geo ") and lines[-1] == "HEAVY=", proc.stdout + proc.stderr
    from importlib import metadata

    assert f"  torch {metadata.version('torch')}" in lines and f"  lightning {metadata.version('lightning')}" in lines
    assert f"  geo-plugin-smp {metadata.version('geo-plugin-smp')}" in lines


def test_ctrl_c_exits_130_from_any_verb(tmp_path):
    (tmp_path / "sigint_now.py").write_text("import os, signal\nos.kill(os.getpid(), signal.SIGINT)\n")
    for verb in (["list", "backbones"], ["plugins", "list"], ["info", "backbone", "tiny_cnn"]):
        proc = _geo("--custom-modules", str(tmp_path / "sigint_now.py"), *verb)
        assert proc.returncode == 128 + signal.SIGINT, (verb, proc.stderr)
        assert "interrupted" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr


def test_ctrl_c_during_training_exits_130(tmp_path):
    """Lightning catches the interrupt, shuts down and exits 1 itself; geo still reports 130."""
    (tmp_path / "killmod.py").write_text(
        "import os, signal\nfrom lightning.pytorch import Callback\n\nclass Kill(Callback):\n"
        "    def on_train_batch_start(self, *args):\n        os.kill(os.getpid(), signal.SIGINT)\n"
    )
    cfg = {
        "custom_modules_path": str(tmp_path / "killmod.py"),
        "trainer": {
            "max_epochs": 3,
            "accelerator": "cpu",
            "devices": 1,
            "enable_progress_bar": False,
            "default_root_dir": str(tmp_path / "run"),
            "callbacks": [{"class_path": "geo_custom_modules.killmod.Kill"}],
        },
        "model": {
            "class_path": "SemanticSegmentationTask",
            "init_args": {
                "model_factory": "EncoderDecoderFactory",
                "model_args": {"backbone": "tiny_cnn", "decoder": "UNetDecoder", "num_classes": 2},
            },
        },
        "data": {"class_path": "geo_core.testing.TinyGeoDataModule", "init_args": {"num_samples": 4}},
    }
    (tmp_path / "kill.yaml").write_text(yaml.safe_dump(cfg))
    proc = _geo("train", "-c", str(tmp_path / "kill.yaml"))
    assert proc.returncode == 130 and "interrupted" in proc.stderr, proc.stderr[-2000:]


def test_train_prints_where_its_outputs_went(tmp_path):
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
        "data": {"class_path": "geo_core.testing.TinyGeoDataModule", "init_args": {"num_samples": 4}},
    }
    (tmp_path / "t.yaml").write_text(yaml.safe_dump(cfg))
    res = _cli(["train", "-c", str(tmp_path / "t.yaml")])
    assert res.exit_code == 0, res.output
    shown = dict(
        line.split(": ", 1)
        for line in res.output.splitlines()
        if line.startswith(("run directory", "best checkpoint", "last checkpoint", "csv logs"))
    )
    assert shown["run directory"] == str(tmp_path / "run"), res.output
    assert Path(shown["best checkpoint"].split(" (")[0]).is_file() and Path(shown["last checkpoint"]).is_file()
    assert Path(shown["csv logs"]).is_dir() and (Path(shown["csv logs"]) / "metrics.csv").is_file()


@pytest.mark.parametrize("task", ["segmentation", "regression", "classification", "multilabel", "scalar_regression"])
def test_geo_init_writes_a_commented_config_that_loads(tmp_path, task):
    from geo_core.runs._api import load_config

    out = tmp_path / f"{task}.yaml"
    res = _cli(["init", str(out), "--task", task, "--backbone", "tiny_cnn", "--bands", "6", "--data", "chips"])
    assert res.exit_code == 0 and f"geo train -c {out}" in res.output, res.output
    text = out.read_text()
    assert text.count("#") > 10  # commented
    run = load_config(out)
    margs = run.config["model"]["init_args"]["model_args"]
    assert margs["backbone"] == "tiny_cnn" and margs["backbone_in_channels"] == 6
    assert run.config["data"]["init_args"]["train_data_root"].startswith("chips/train")


def test_geo_init_refuses_to_overwrite_and_names_bad_choices(tmp_path):
    out = tmp_path / "c.yaml"
    out.write_text("mine")
    res = _cli(["init", str(out)])
    assert res.exit_code == 2 and "--overwrite" in res.output and out.read_text() == "mine"
    res = _cli(["init", str(tmp_path / "d.yaml"), "--task", "segmentaton"])
    assert res.exit_code == 2 and "did you mean 'segmentation'" in res.output
    res = _cli(["init", str(tmp_path / "d.yaml"), "--backbone", "resnet_nope"])
    assert res.exit_code == 2 and "unknown backbone 'resnet_nope'" in res.output
    assert not (tmp_path / "d.yaml").exists()


def test_info_finds_the_kind_when_it_is_left_out():
    """issue 22: the smp README's `geo info smp:mit_b0` did not run; both spellings work now."""
    assert "smp:mit_b0" in _cli(["info", "backbone", "smp:mit_b0"]).output
    res = _cli(["info", "smp:mit_b0"])
    assert res.exit_code == 0 and "backbone" in res.output and "smp:mit_b0" in res.output, res.output
    res = _cli(["info", "nosuchthing_anywhere"])
    assert res.exit_code == 2 and "no component is named 'nosuchthing_anywhere'" in res.output
