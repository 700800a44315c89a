"""`geo predict` never destroys its input and replaces an existing output only when asked (issue 22)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from geo_core.testing import write_geotiff

from .conftest import AFFINE_MUL, run_cli, run_config, write_yaml

pytestmark = pytest.mark.filterwarnings(AFFINE_MUL)


@pytest.fixture
def cfg(seg_data: Path, tmp_path: Path) -> Path:
    return write_yaml(tmp_path / "predict.yaml", run_config(seg_data, tmp_path / "run"))


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _predict(cfg: Path, inp: Path | str, out: Path | str, *extra: str):
    return run_cli(["predict", "-c", str(cfg), "-i", str(inp), "-o", str(out), "--no-progress", *extra])


def test_output_that_is_the_input_is_refused_even_with_overwrite(cfg, tmp_path):
    scene = write_geotiff(tmp_path / "scene.tif", bands=6, height=32, width=32)
    before = _digest(scene)
    os.symlink(scene, tmp_path / "alias.tif")
    for out in (scene, tmp_path / "alias.tif", tmp_path / "." / "scene.tif"):
        for extra in ((), ("--overwrite",)):
            res = _predict(cfg, scene, out, *extra)
            assert res.exit_code == 2 and "would destroy the input" in res.output, res.output
            assert "Traceback" not in res.output and len(res.output.strip().splitlines()) == 1, res.output
    assert _digest(scene) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["alias.tif", "predict.yaml", "scene.tif"]


def test_existing_output_is_replaced_only_with_overwrite(cfg, tmp_path):
    scene = write_geotiff(tmp_path / "scene.tif", bands=6, height=32, width=32)
    out = tmp_path / "pred.tif"
    out.write_bytes(b"precious")
    res = _predict(cfg, scene, out)
    assert res.exit_code == 2 and "already exists" in res.output and "--overwrite" in res.output, res.output
    assert out.read_bytes() == b"precious"
    res = _predict(cfg, scene, out, "--overwrite")
    assert res.exit_code == 0, res.output
    assert out.read_bytes()[:2] in (b"II", b"MM")  # a GeoTIFF now


def test_a_folder_of_inputs_into_itself_keeps_every_input(cfg, tmp_path):
    scenes = tmp_path / "scenes"
    for i in range(2):
        write_geotiff(scenes / f"s{i}.tif", bands=6, height=32, width=32, seed=i)
    before = {p.name: _digest(p) for p in scenes.iterdir()}
    res = _predict(cfg, scenes, scenes)  # outputs are <stem>_pred.tif beside the inputs: allowed
    assert res.exit_code == 0, res.output
    assert {p.name: _digest(p) for p in scenes.glob("s?.tif")} == before
    res = _predict(cfg, scenes / "s?.tif", scenes)  # a rerun: the ledger says done, so they are skipped, not replaced
    assert res.exit_code == 0 and "2 skipped" in res.output, res.output


def test_an_existing_output_the_ledger_does_not_know_is_not_replaced(cfg, tmp_path):
    scenes, out = tmp_path / "scenes", tmp_path / "preds"
    for i in range(2):
        write_geotiff(scenes / f"s{i}.tif", bands=6, height=32, width=32, seed=i)
    (out / "s1_pred.tif").parent.mkdir()
    (out / "s1_pred.tif").write_bytes(b"someone else's file")
    res = _predict(cfg, scenes, out)
    assert res.exit_code == 2 and "s1_pred.tif already exists" in res.output, res.output
    assert (out / "s1_pred.tif").read_bytes() == b"someone else's file" and not (out / "s0_pred.tif").exists()
    res = _predict(cfg, scenes, out, "--overwrite")
    assert res.exit_code == 0 and (out / "s1_pred.tif").read_bytes()[:2] in (b"II", b"MM"), res.output
