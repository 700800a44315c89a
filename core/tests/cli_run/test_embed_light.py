"""``geo embed --input`` without Lightning: the task path's bytes; no lightning, torchmetrics, torchvision or pandas."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
import torch
import yaml
from geo_core import runs as api
from geo_core.runs._light import declared_scene_preprocessing, light_embedder
from geo_core.testing import write_geotiff

from .conftest import LIGHTNING_PYTREE

pytestmark = pytest.mark.filterwarnings(LIGHTNING_PYTREE)

HEAVY = ("lightning", "torchmetrics", "torchvision", "pandas")  # pyarrow imports pandas in pa.array


def _config(tmp_path, **init_args):
    return {
        "trainer": {"accelerator": "cpu", "devices": 1, "logger": False, "default_root_dir": str(tmp_path / "run")},
        "model": {
            "class_path": "EmbeddingGenerationTask",
            "init_args": {"backbone": "tiny_cnn", "backbone_args": {"in_channels": 6}, **init_args},
        },
    }


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """Three scenes, a tiff (grid) and a parquet (mean) config, and a checkpoint of other weights."""
    root = tmp_path_factory.mktemp("embed_light")
    for i in range(3):
        write_geotiff(root / "scenes" / f"s{i}.tif", bands=6, height=32, width=32, seed=i)
    (root / "grid.yaml").write_text(yaml.safe_dump(_config(root, pooling="none", output_format="tiff")))
    (root / "vec.yaml").write_text(yaml.safe_dump(_config(root, output_format="parquet", layers=[0, -1])))
    from geo_core import BACKBONES

    torch.manual_seed(7)
    backbone = BACKBONES.build("tiny_cnn", in_channels=6)
    torch.save({"state_dict": {f"backbone.{k}": v for k, v in backbone.state_dict().items()}}, root / "emb.ckpt")
    return root


def _files(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*_embedding.*"))}


def test_embed_skips_lightning_and_writes_the_task_paths_bytes(setup):
    root = setup
    runs = [("grid.yaml", None, "grid"), ("vec.yaml", None, "vec"), ("vec.yaml", str(root / "emb.ckpt"), "ckpt")]
    code = textwrap.dedent(f"""
        import sys
        from geo_core import runs
        for cfg, ckpt, out in {runs!r}:
            runs.run_embedding({str(root)!r} + "/" + cfg, input={str(root / "scenes")!r},
                               output={str(root)!r} + "/light_" + out, ckpt=ckpt)
        print(sorted(m for m in {HEAVY!r} if m in sys.modules))
    """)
    res = subprocess.run([sys.executable, "-W", "ignore", "-c", code], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip().splitlines()[-1] == "[]", res.stdout
    for cfg, ckpt, out in runs:  # a RunConfig goes through the Lightning task
        counts = api.run_embedding(
            api.load_config(root / cfg), input=root / "scenes", output=root / f"task_{out}", ckpt=ckpt
        )
        assert counts["written"] == 3
        light, task = _files(root / f"light_{out}"), _files(root / f"task_{out}")
        assert len(light) == 3 and light == task, out
    assert _files(root / "light_vec") != _files(root / "light_ckpt")  # the checkpoint's weights were used


def test_light_embedder_steps_aside_when_the_task_is_needed(setup, tmp_path):
    base = _config(tmp_path)
    found = light_embedder(base, None)
    assert found is not None and found[1] == "embeddings" and found[0].output_format == "tiff"
    with_data = {**base, "data": {"class_path": "geo_core.testing.TinyGeoDataModule"}}
    assert light_embedder(with_data, None) is None  # the datamodule's preprocessing needs the datamodule
    from geo_core import DATAMODULES
    from geo_core.testing import TinyGeoDataModule

    # no declaration, a function that is not there, one returning something else than ScenePreprocessing
    declared = {"undeclared_dm": None, "broken_dm": "geo_core:no_such_function", "wrong_dm": "builtins:slice"}
    for name, target in declared.items():
        DATAMODULES.register(TinyGeoDataModule, name=name, metadata={"scene_preprocessing": target} if target else {})
    try:
        for name in [*declared, "missing_dm"]:
            assert declared_scene_preprocessing({"class_path": name}) is None
            assert light_embedder({**base, "data": {"class_path": name}}, None) is None
    finally:
        for name in declared:
            DATAMODULES.unregister(f"local:{name}")
    other = _config(tmp_path)
    other["model"]["class_path"] = "my_pkg.EmbeddingGenerationTask"
    assert light_embedder(other, None) is None  # not geo's task
    typo = _config(tmp_path, poolng="cls")
    assert light_embedder(typo, None) is None  # the task path names the unknown argument
    bad = _config(tmp_path, pooling="avg")
    assert light_embedder(bad, None) is None  # ... and the bad value
    wrong = tmp_path / "wrong.ckpt"
    torch.save({"state_dict": {"backbone.nope": torch.zeros(1)}}, wrong)
    assert light_embedder(base, wrong) is None  # weights that do not fit: the task path reports them
