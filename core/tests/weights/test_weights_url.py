"""Plain-URL weights: download, cache hit, resume, verification and server faults against a local server."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from geo_core import CheckpointError, WeightsError, WeightsOfflineError
from geo_core.testing import WeightServer
from geo_core.weights import WeightRef, fetch_weights, weights_dir

from .conftest import leftovers, payload


def test_download_then_cache_hit(server: WeightServer) -> None:
    data = payload()
    url = server.add_file("models/net-1a2b.pth", data)
    ref = WeightRef(url=url, sha256=hashlib.sha256(data).hexdigest())
    path = fetch_weights(ref, name="net")
    assert path.read_bytes() == data
    assert path.is_relative_to(weights_dir())
    again = fetch_weights(ref, name="net")
    assert again == path
    assert server.count("GET", "net-1a2b") == 1  # the second call never asked the server


def test_sha256_prefix_is_accepted(server: WeightServer) -> None:
    data = payload(seed=3)
    url = server.add_file("tv/resnet-x.pth", data)
    assert fetch_weights(WeightRef(url=url, sha256=hashlib.sha256(data).hexdigest()[:8])).read_bytes() == data


def test_resume_after_dropped_connection(server: WeightServer) -> None:
    data = payload(200_000)
    url = server.add_file("big.pth", data)
    server.fail(url, drop_after=50_000, methods=("GET",))
    path = fetch_weights(WeightRef(url=url, sha256=hashlib.sha256(data).hexdigest()))
    assert path.read_bytes() == data
    gets = [h for m, p, h in server.requests if m == "GET"]
    assert len(gets) == 2 and gets[1].get("range") == "bytes=50000-"


def test_interrupted_download_keeps_the_part_and_the_next_call_resumes(server: WeightServer) -> None:
    data = payload(100_000)
    url = server.add_file("flaky.pth", data)
    server.fail(url, drop_after=0, methods=("GET",), times=1)  # no progress: gives up at once
    server.fail(url, drop_after=30_000, methods=("GET",), times=1)
    server.fail(url, drop_after=0, methods=("GET",), times=1)
    with pytest.raises(WeightsError, match=r"interrupted.*run the command again to resume") as info:
        fetch_weights(WeightRef(url=url), name="flaky")
    assert isinstance(info.value, CheckpointError)
    final = weights_dir() / "127.0.0.1_{}".format(server.url.rsplit(":", 1)[1]) / "flaky.pth"
    assert not final.exists()
    with pytest.raises(WeightsError):  # first try of the second call made no progress either
        fetch_weights(WeightRef(url=url), name="flaky")
    assert fetch_weights(WeightRef(url=url), name="flaky").read_bytes() == data
    assert [h.get("range") for m, _, h in server.requests if m == "GET"][-1] == "bytes=30000-"


def test_hash_mismatch_leaves_nothing_and_names_both_hashes(server: WeightServer) -> None:
    url = server.add_file("w.pth", payload())
    with pytest.raises(WeightsError, match=r"SHA-256 mismatch.*expected 0{64}, got [0-9a-f]{64}"):
        fetch_weights(WeightRef(url=url, sha256="0" * 64), name="w")
    assert leftovers(weights_dir()) == [] or all(p.endswith(".lock") for p in leftovers(weights_dir()))


@pytest.mark.parametrize("status", [404, 500])
def test_http_errors_then_a_retry_succeeds(server: WeightServer, status: int) -> None:
    data = payload()
    url = server.add_file("x.pth", data)
    server.fail(url, status=status)
    with pytest.raises(WeightsError, match=f"HTTP {status}") as info:
        fetch_weights(WeightRef(url=url), name="x")
    assert ("not there" in str(info.value)) == (status == 404)
    assert not any(p.endswith("x.pth") for p in leftovers(weights_dir()))
    assert fetch_weights(WeightRef(url=url), name="x").read_bytes() == data


def test_html_page_instead_of_weights(server: WeightServer) -> None:
    url = server.add_file("login.pth", b"\n  <!DOCTYPE html><html><body>Sign in</body></html>")
    with pytest.raises(WeightsError, match="sent a web page, not weights"):
        fetch_weights(WeightRef(url=url))
    assert not any(p.endswith("login.pth") for p in leftovers(weights_dir()))


def test_slow_server_times_out(server: WeightServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GEO_WEIGHTS_TIMEOUT", "0.3")
    url = server.add_file("slow.pth", payload())
    server.fail(url, delay=3.0)
    with pytest.raises(WeightsError, match=r"timed out.*GEO_WEIGHTS_TIMEOUT=0.3s"):
        fetch_weights(WeightRef(url=url), name="slow")
    assert fetch_weights(WeightRef(url=url), name="slow").stat().st_size > 0


def test_offline_uses_the_cache_and_a_miss_is_one_line(server: WeightServer, monkeypatch: pytest.MonkeyPatch) -> None:
    data = payload()
    cached = server.add_file("a.pth", data)
    missing = server.add_file("b.pth", data)
    fetch_weights(WeightRef(url=cached))
    monkeypatch.setenv("GEO_OFFLINE", "1")
    n = len(server.requests)
    assert fetch_weights(WeightRef(url=cached)).read_bytes() == data
    with pytest.raises(WeightsOfflineError) as info:
        fetch_weights(WeightRef(url=missing), name="bnet")
    msg = str(info.value)
    assert "\n" not in msg and "GEO_OFFLINE=1" in msg and missing in msg and "geo weights download bnet" in msg
    assert len(server.requests) == n  # offline never asks the server


def test_file_placed_by_hand_is_adopted_offline(server: WeightServer, monkeypatch: pytest.MonkeyPatch) -> None:
    from geo_core.weights._url import url_cache_path

    data = payload()
    url = server.add_file("hand.pth", data)
    target = url_cache_path(url)
    target.parent.mkdir(parents=True)
    target.write_bytes(data)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert fetch_weights(WeightRef(url=url, sha256=hashlib.sha256(data).hexdigest())) == target


def test_local_path_and_from_mapping(tmp_path: Path) -> None:
    f = tmp_path / "w.pt"
    f.write_bytes(b"PK weights")
    assert fetch_weights({"path": str(f)}) == f
    with pytest.raises(WeightsError, match="no weights file"):
        fetch_weights({"path": str(tmp_path / "nope.pt")}, name="n")
    with pytest.raises(WeightsError, match="mismatch"):
        fetch_weights({"path": str(f), "sha256": "ab" * 32})


def test_ref_validation() -> None:
    from geo_core import ConfigError

    with pytest.raises(ConfigError, match="exactly one of"):
        WeightRef(url="https://a/b", path="/x")
    with pytest.raises(ConfigError, match="needs filename"):
        WeightRef(hf_repo="org/repo")
    with pytest.raises(ConfigError, match="valid keys"):
        WeightRef.from_mapping({"hf_repo": "a/b", "file": "x"})
    with pytest.raises(ConfigError, match="hex digest"):
        WeightRef(url="https://a/b", sha256="xyz")
    ref = WeightRef.from_mapping({"hf_repo": "a/b", "filename": "f.pt", "revision": ""})
    assert ref.revision is None and ref.to_mapping() == {"hf_repo": "a/b", "filename": "f.pt"}


def test_importing_the_layer_is_light() -> None:
    import subprocess
    import sys

    code = (
        "import sys, geo_core.weights, geo_core.testing; "
        "print(sorted(m for m in ('torch', 'huggingface_hub', 'httpx') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "[]", out.stderr


def test_progress_on_stderr(server: WeightServer, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setenv("GEO_PROGRESS", "1")
    data = payload(300_000)
    url = server.add_file("p/net.pth", data)
    fetch_weights(WeightRef(url=url), name="net")
    err = capsys.readouterr().err
    assert "downloading net.pth (0.3 MB)" in err and "downloaded net.pth (0.3 MB)" in err


def test_alternatives_fall_through_404_only(server: WeightServer) -> None:
    data = payload()
    second = server.add_file("alt/second.pth", data)
    first = f"{server.url}/alt/first.pth"
    assert fetch_weights([WeightRef(url=first), WeightRef(url=second)]).read_bytes() == data
    server.fail(first, status=500)
    with pytest.raises(WeightsError, match="HTTP 500"):
        fetch_weights([WeightRef(url=first), WeightRef(url=f"{server.url}/alt/third.pth")])


def test_public_surface() -> None:
    import geo_core.weights as w

    assert {n for n in dir(w) if not n.startswith("_")} - {"annotations"} == set(w.__all__)
