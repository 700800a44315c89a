"""Many scenes on many processes: torchrun sharing, a killed rank and its rerun, failed scenes."""

from __future__ import annotations

import json

import pytest
import torch

from .conftest import LIGHTNING_PYTREE, predict_args, run_cli, torchrun

pytestmark = pytest.mark.filterwarnings(LIGHTNING_PYTREE)


def _ledger(out):
    return {r["scene"]: r for r in (json.loads(p.read_text()) for p in (out / ".geo-ledger").glob("*.json"))}


def test_two_torchrun_ranks_do_every_scene_once_and_match_one_process(setup, tmp_path):
    two, one = tmp_path / "two", tmp_path / "one"
    res = torchrun(predict_args(setup, two))
    assert res.returncode == 0, res.stderr[-3000:]
    assert "rank 0/2: 20 scene(s): 20 done" in res.stderr and "rank 1/2: 20 scene(s): 20 done" in res.stderr
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the ranks ran with one thread each
    try:
        res1 = run_cli(predict_args(setup, one))
    finally:
        torch.set_num_threads(threads)
    assert res1.exit_code == 0, res1.output
    assert "40 scene(s): 40 done, 0 skipped" in res1.output
    names = sorted(p.name for p in two.glob("*.tif"))
    assert names == [f"s{i:02d}_pred.tif" for i in range(40)] == sorted(p.name for p in one.glob("*.tif"))
    assert all((two / n).read_bytes() == (one / n).read_bytes() for n in names)
    led = _ledger(two)
    assert len(led) == 40 and {r["state"] for r in led.values()} == {"done"}
    assert all(r["attempts"] == 1 for r in led.values())
    assert sorted(r["rank"] for r in led.values()) == [0] * 20 + [1] * 20
    assert len({r["run"] for r in led.values()}) == 1  # one launch id, from torchrun
    assert not [p for p in two.iterdir() if p.name.startswith(".s")]  # no temporaries left


def test_killed_rank_is_picked_up_by_the_rerun_and_nothing_is_done_twice(setup, tmp_path):
    out = tmp_path / "out"
    res = torchrun(predict_args(setup, out), env={"GEO_TEST_KILL_RANK": "1", "GEO_TEST_KILL_AFTER": "5"})
    assert res.returncode != 0
    before = _ledger(out)
    done_before = {s for s, r in before.items() if r["state"] == "done"}
    stuck = {s for s, r in before.items() if r["state"] == "in_progress"}
    assert {f"s{i:02d}" for i in (1, 3, 5, 7, 9)} <= done_before  # rank 1's first five
    assert "s11" in stuck  # its sixth, killed mid-scene
    assert len(done_before) < 40
    res = run_cli(predict_args(setup, out))
    assert res.exit_code == 0, res.output
    after = _ledger(out)
    assert len(after) == 40 and {r["state"] for r in after.values()} == {"done"}
    assert f"{40 - len(done_before)} done, {len(done_before)} skipped" in res.output
    for s in done_before:  # untouched: same record, one attempt
        assert after[s] == before[s] and after[s]["attempts"] == 1
    assert after["s11"]["attempts"] == 2  # the killed attempt, then the rerun's
    assert sorted(p.name for p in out.glob("*.tif")) == [f"s{i:02d}_pred.tif" for i in range(40)]


def test_a_scene_that_raises_is_failed_and_the_run_goes_on(setup, tmp_path):
    from geo_core.testing import write_geotiff

    scenes = tmp_path / "scenes"
    for i in range(3):
        write_geotiff(scenes / f"g{i}.tif", bands=6, height=64, width=64, seed=i)
    (scenes / "bad.tif").write_bytes((scenes / "g0.tif").read_bytes()[:500])  # truncated
    (scenes / "five.tif").write_bytes(b"")
    write_geotiff(scenes / "five.tif", bands=5, height=64, width=64)  # a band count the model rejects
    args = predict_args(setup, tmp_path / "out")
    args[args.index("-i") + 1] = str(scenes)
    res = run_cli(args)
    assert res.exit_code == 1
    assert "5 scene(s): 3 done, 0 skipped (already done), 2 failed" in res.output
    assert "failed bad: InputDataError" in res.output and "failed five: InputDataError" in res.output
    assert sorted(p.name for p in (tmp_path / "out").glob("*.tif")) == ["g0_pred.tif", "g1_pred.tif", "g2_pred.tif"]
    led = _ledger(tmp_path / "out")
    assert led["bad"]["state"] == "failed" and "bad.tif" in led["bad"]["error"]
    # a rerun skips the done ones and retries the failed ones; --max-failures 0 stops after the first
    res = run_cli([*args, "--max-failures", "0"])
    assert res.exit_code == 1
    assert "3 skipped (already done), 1 failed, 1 not started (--max-failures reached)" in res.output
    assert _ledger(tmp_path / "out")["bad"]["attempts"] == 2


def test_geo_embed_takes_a_text_list_with_a_ledger(setup, tmp_path):
    import pyarrow.parquet as pq
    import yaml

    cfg = {
        "trainer": {"accelerator": "cpu", "logger": False},
        "model": {
            "class_path": "EmbeddingGenerationTask",
            "init_args": {"backbone": "tiny_cnn", "backbone_args": {"in_channels": 6}, "output_format": "parquet"},
        },
    }
    (tmp_path / "emb.yaml").write_text(yaml.safe_dump(cfg))
    lst = tmp_path / "scenes.txt"
    lst.write_text("".join(f"{setup / 'scenes' / f's{i:02d}.tif'}\n" for i in range(3)))
    args = ["embed", "-c", str(tmp_path / "emb.yaml"), "-i", str(lst), "-o", str(tmp_path / "emb")]
    res = run_cli(args)
    assert res.exit_code == 0, res.output
    assert "3 scene(s): 3 done" in res.output
    table = pq.read_table(tmp_path / "emb" / "s01_embedding.parquet")
    assert table.column("item_id").to_pylist() == ["s01"] and b"geo" in table.schema.metadata
    assert "skipped (already complete): 3" in run_cli(args).output
