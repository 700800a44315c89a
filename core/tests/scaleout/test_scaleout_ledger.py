"""The ledger's stale-claim rule, rank detection and the scene sources (no torch, no model)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
from geo_core import InputDataError
from geo_core.inference._ledger import Ledger
from geo_core.inference._ranks import RankInfo, my_share, rank_info
from geo_core.inference._scenes import list_all_scenes, list_scenes


def test_claims_done_failed_and_stale_records(tmp_path):
    a = Ledger(tmp_path, rank=0, run_id="r1")
    out = tmp_path / "x_pred.tif"
    assert a.claim("x", out).take
    b = Ledger(tmp_path, rank=1, run_id="r2")
    assert b.claim("x", out).state == "busy"  # a live process of this host holds it
    out.write_bytes(b"tif")
    a.done("x", out, 1.0)
    assert b.claim("x", out).state == "done"
    out.unlink()  # a done scene whose output was removed is redone
    assert b.claim("x", out).take
    b.failed("x", ValueError("boom\nsecond line"))
    rec = b.read("x")
    assert rec["state"] == "failed" and rec["error"] == "ValueError: boom" and rec["attempts"] == 2
    assert a.claim("x", out).take and a.read("x")["attempts"] == 3


def test_a_dead_writers_claim_is_taken_over_and_a_silent_remote_one_after_stale_after(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    led = Ledger(tmp_path, stale_after=60)
    rec = {"scene": "s", "state": "in_progress", "host": os.uname().nodename, "pid": int(dead.stdout), "attempts": 1}
    led.path("s").write_text(json.dumps(rec))
    claim = led.claim("s")
    assert claim.take and claim.state == "stale" and led.read("s")["attempts"] == 2
    remote = {**rec, "host": "another-node", "pid": 1}
    led.path("r").write_text(json.dumps(remote))
    assert led.claim("r").state == "busy"  # fresh heartbeat (mtime)
    old = time.time() - 61
    os.utime(led.path("r"), (old, old))
    assert led.claim("r").state == "stale"


def test_heartbeat_refreshes_the_claim(tmp_path):
    led = Ledger(tmp_path)
    led.claim("h")
    old = time.time() - 500
    os.utime(led.path("h"), (old, old))
    with led.heartbeat("h", every=0.05):
        time.sleep(0.3)
    assert time.time() - led.path("h").stat().st_mtime < 5


def test_rank_detection_and_round_robin_share(monkeypatch):
    for k in ("TORCHELASTIC_RUN_ID", "RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "SLURM_STEP_NUM_TASKS", "SLURM_PROCID"):
        monkeypatch.delenv(k, raising=False)
    assert rank_info() == RankInfo()
    monkeypatch.setenv("SLURM_PROCID", "0")  # a batch script without srun: one process, all scenes
    monkeypatch.setenv("SLURM_NTASKS", "4")
    assert rank_info().world_size == 1
    monkeypatch.setenv("RANK", "2")
    monkeypatch.setenv("WORLD_SIZE", "3")
    info = rank_info()
    assert (info.rank, info.world_size) == (2, 3)
    shares = [my_share(list(range(10)), RankInfo(r, 3)) for r in range(3)]
    assert sorted(x for s in shares for x in s) == list(range(10)) and shares[2] == [2, 5, 8]
    monkeypatch.setenv("RANK", "3")
    with pytest.raises(Exception, match="need 0 <= rank < world size"):
        rank_info()


def test_text_lists_urls_and_duplicate_ids(tmp_path):
    (tmp_path / "a.tif").write_bytes(b"")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.tif").write_bytes(b"")
    lst = tmp_path / "scenes.txt"
    lst.write_text("# my scenes\na.tif\n\nhttps://example.org/data/b.tif?sig=1\n")
    scenes = list_scenes(lst)
    assert [s.id for s in scenes] == ["a", "b"]
    assert scenes[1].path == "/vsicurl/https://example.org/data/b.tif?sig=1"
    with pytest.raises(InputDataError, match=r"two scenes are named 'a'"):
        list_all_scenes([str(lst), str(tmp_path / "sub")])
    lst.write_text("missing.tif\n")
    with pytest.raises(InputDataError, match=r"line 1 names 'missing\.tif'"):
        list_scenes(lst)
