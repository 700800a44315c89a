"""The README's first hour, end to end, in a fresh venv holding only geo-core, geo-plugin-smp and
geo-plugin-datasets: `geo init`, `geo train`, `geo test`, `geo predict` on synthetic GeoTIFF chips (issue 22).

The venv reuses the already-installed third-party packages (torch, lightning, smp, rasterio...)
through a .pth line pointing at a folder of symlinks to every entry of their site-packages except
geo's own, so no geo plugin but the three leaks in and nothing is downloaded.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _third_party_site_packages() -> list[Path]:
    """The site-packages folders that hold torch and the other third-party packages (found without importing)."""
    dirs = []
    for mod in ("torch", "lightning", "segmentation_models_pytorch", "rasterio", "typer", "setuptools"):
        spec = importlib.util.find_spec(mod)
        assert spec is not None and spec.origin, mod
        d = Path(spec.origin).resolve().parents[1]
        if d not in dirs:
            dirs.append(d)
    return dirs


def _is_geo(name: str) -> bool:
    low = name.lower()
    return low.startswith(("geo_", "geo-", "__editable__", "_geo")) or low.endswith(".pth")


def _run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: int = 300) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{' '.join(cmd)} -> {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("e2e")
    env_dir = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env_dir)], check=True, timeout=120)
    site = next((env_dir / "lib").glob("python3*/site-packages"))
    lines = []
    for i, src in enumerate(_third_party_site_packages()):
        farm = root / f"third_party_{i}"
        farm.mkdir()
        for entry in src.iterdir():
            if not _is_geo(entry.name):
                os.symlink(entry, farm / entry.name)
        lines.append(str(farm))
    (site / "_third_party.pth").write_text("\n".join(lines) + "\n")
    py = env_dir / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GEO_", "PYTHON", "VIRTUAL_ENV"))}
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(py),
            "install",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-e",
            str(ROOT / "core"),
            "-e",
            str(ROOT / "plugins" / "smp"),
            "-e",
            str(ROOT / "plugins" / "datasets"),
        ],
        root,
        env,
        timeout=600,
    )
    return env_dir


def _chips(root: Path) -> None:
    """train/ and val/ folders of 6-band GeoTIFF chips and masks with the same file names (a user's layout)."""
    from geo_core.testing import make_segmentation_folder

    for split, n, seed in (("train", 8, 0), ("val", 4, 1)):
        make_segmentation_folder(root / split, n=n, size=32, seed=seed, image_suffix=".tif", label_suffix=".tif")


def test_init_train_test_predict_with_core_smp_and_datasets_only(venv, tmp_path):
    work = tmp_path / "project"
    _chips(work / "data")
    geo = str(venv / "bin" / "geo")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GEO_", "PYTHON", "VIRTUAL_ENV"))}
    listed = _run([geo, "plugins", "list"], work, env).stdout
    assert "smp" in listed and "datasets" in listed
    for absent in ("timm", "prithvi", "fixture", "broken", "oldspec"):
        assert absent not in listed, listed
    missing = subprocess.run(
        [geo, "info", "backbone", "timm:resnet18"], cwd=work, env=env, capture_output=True, text=True, timeout=120
    )
    assert missing.returncode != 0 and "pip install geo-plugin-timm" in missing.stderr + missing.stdout, missing

    _run([geo, "init", "run.yaml", "--task", "segmentation", "--backbone", "smp:resnet18", "--bands", "6"], work, env)
    quick = [
        "trainer.max_epochs=1",
        "trainer.accelerator=cpu",
        "trainer.devices=1",
        "trainer.enable_progress_bar=false",
        "data.init_args.batch_size=4",
    ]
    trained = _run([geo, "train", "-c", "run.yaml", *quick], work, env, timeout=600).stdout
    assert "best checkpoint: " in trained and "last checkpoint: " in trained, trained
    assert (work / "runs" / "run" / "checkpoints" / "last.ckpt").is_file()
    tested = _run([geo, "test", "-c", "run.yaml", "--ckpt", "best", *quick], work, env, timeout=600)
    assert "test/" in tested.stdout + tested.stderr
    _run(
        [geo, "predict", "-c", "run.yaml", "--ckpt", "best", "-i", "data/val/images", "-o", "preds", "--no-progress"],
        work,
        env,
        timeout=600,
    )
    assert sorted(p.name for p in (work / "preds").glob("*.tif")) == [f"tile{i:03d}_pred.tif" for i in range(4)]


def test_fixture_plugins_are_for_the_test_run_only(venv, tmp_path):
    """issue 22: the deliberately broken fixture plugins no longer sit in the user's environment; the root
    conftest.py makes them visible to tests only (here: a venv that never installed them)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GEO_", "PYTHON", "VIRTUAL_ENV"))}
    helped = _run([str(venv / "bin" / "geo"), "--help"], tmp_path, env).stdout
    assert "fixture-hello" not in helped
    script = (ROOT / "scripts" / "setup_env.sh").read_text()
    assert "tests/fixtures/*/ docs" not in script and "uninstall" in script
    tests = [
        "core/tests/registry/test_registry_resolution.py::test_names_are_qualified_and_sorted",
        "core/tests/cli/test_cli_commands.py::test_plugin_cli_command_is_added",
        "core/tests/cli/test_cli_commands.py::test_info_component_of_broken_plugin",
        "core/tests/cli/test_cli_imports.py::test_listing_commands_import_nothing_heavy",
    ]
    proc = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            f"--basetemp={tmp_path / 'pt'}",
            *tests,
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
