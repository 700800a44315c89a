"""Hugging Face weights through the real huggingface_hub client, against the local fake endpoint."""

from __future__ import annotations

import hashlib

import pytest
from geo_core import WeightsError, WeightsOfflineError
from geo_core.testing import WeightServer
from geo_core.weights import WeightRef, cached_weights_path, fetch_weights, hf_cache_dir

from .conftest import payload


def test_download_cache_hit_and_revision(server: WeightServer) -> None:
    data, v2 = payload(seed=1), payload(seed=2)
    server.add_hf_file("org/model", "model.pt", data)
    server.add_hf_file("org/model", "model.pt", v2, revision="v2")
    ref = WeightRef(hf_repo="org/model", filename="model.pt")
    assert cached_weights_path(ref) is None
    path = fetch_weights(ref, name="m")
    assert path.read_bytes() == data and path.is_relative_to(hf_cache_dir())
    assert cached_weights_path(ref) == path
    assert fetch_weights(WeightRef(hf_repo="org/model", filename="model.pt", revision="v2")).read_bytes() == v2
    assert server.count("GET", "/org/model/resolve/main/") == 1
    fetch_weights(ref)  # cache hit: at most a HEAD, never a second GET
    assert server.count("GET", "/org/model/resolve/main/") == 1


def test_declared_sha256_is_checked(server: WeightServer) -> None:
    data = payload()
    server.add_hf_file("org/m", "w.pt", data)
    ok = WeightRef(hf_repo="org/m", filename="w.pt", sha256=hashlib.sha256(data).hexdigest())
    assert fetch_weights(ok).read_bytes() == data
    with pytest.raises(WeightsError, match="SHA-256 mismatch"):
        fetch_weights(WeightRef(hf_repo="org/m", filename="w.pt", sha256="ab" * 32))
    assert cached_weights_path(ok) is None  # the bad copy is gone; a retry downloads again
    assert fetch_weights(ok).read_bytes() == data


def test_resume_after_dropped_connection(server: WeightServer, monkeypatch: pytest.MonkeyPatch) -> None:
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "DOWNLOAD_CHUNK_SIZE", 20_000)  # default 10 MB: a small file is one chunk
    data = payload(300_000)
    url = server.add_hf_file("org/big", "big.pt", data)
    server.fail(url, drop_after=100_000, methods=("GET",))
    assert fetch_weights(WeightRef(hf_repo="org/big", filename="big.pt")).read_bytes() == data
    ranges = [h.get("range") for m, p, h in server.requests if m == "GET" and "big.pt" in p]
    assert ranges[0] is None and ranges[-1] == "bytes=100000-", ranges


@pytest.mark.parametrize(("status", "match"), [(404, "not found in org/m"), (500, "HTTP 500")])
def test_server_errors_then_retry(server: WeightServer, status: int, match: str) -> None:
    data = payload()
    server.add_hf_file("org/m", "w.pt", data)
    ref = WeightRef(hf_repo="org/m", filename="w.pt" if status == 500 else "other.pt")
    if status == 500:
        # only GET: huggingface_hub retries a failing HEAD for 23 s
        server.fail("/org/m/resolve/main/w.pt", status=500, times=None, methods=("GET",))
    with pytest.raises(WeightsError, match=match):
        fetch_weights(ref, name="m")
    server.faults.clear()
    if status == 404:
        server.add_hf_file("org/m", "other.pt", data)
    assert fetch_weights(ref).read_bytes() == data


def test_unknown_repo(server: WeightServer) -> None:
    with pytest.raises(WeightsError, match="repository org/none not found"):
        fetch_weights(WeightRef(hf_repo="org/none", filename="w.pt"))


def test_gated_repo_with_and_without_token(server: WeightServer, monkeypatch: pytest.MonkeyPatch) -> None:
    data = payload()
    server.add_hf_file("org/gated", "w.pt", data, token="hf_secret")
    ref = WeightRef(hf_repo="org/gated", filename="w.pt")
    with pytest.raises(WeightsError, match=r"gated repository; accept its terms at .*set HF_TOKEN"):
        fetch_weights(ref, name="g")
    monkeypatch.setenv("HF_TOKEN", "hf_wrong")
    with pytest.raises(WeightsError, match="your token is refused"):
        fetch_weights(ref, name="g")
    monkeypatch.setenv("HF_TOKEN", "hf_secret")
    assert fetch_weights(ref, name="g").read_bytes() == data


@pytest.mark.parametrize("var", ["GEO_OFFLINE", "HF_HUB_OFFLINE"])
def test_offline(server: WeightServer, monkeypatch: pytest.MonkeyPatch, var: str) -> None:
    data = payload()
    server.add_hf_file("org/m", "a.pt", data)
    server.add_hf_file("org/m", "b.pt", data)
    fetch_weights(WeightRef(hf_repo="org/m", filename="a.pt"))
    monkeypatch.setenv(var, "1")
    n = len(server.requests)
    assert fetch_weights(WeightRef(hf_repo="org/m", filename="a.pt")).read_bytes() == data
    with pytest.raises(WeightsOfflineError) as info:
        fetch_weights(WeightRef(hf_repo="org/m", filename="b.pt"), name="bnet")
    msg = str(info.value)
    assert "\n" not in msg and f"{var}=1" in msg and "org/m/b.pt" in msg and str(hf_cache_dir()) in msg
    assert "geo weights download bnet" in msg
    assert len(server.requests) == n


def test_html_page_on_the_hub_is_refused_and_a_retry_gets_the_real_file(server: WeightServer) -> None:
    server.add_hf_file("org/m", "w.pt", b"<!DOCTYPE html><html><body>Access denied</body></html>")
    ref = WeightRef(hf_repo="org/m", filename="w.pt")
    with pytest.raises(WeightsError, match="sent a web page, not weights"):
        fetch_weights(ref, name="m")
    assert cached_weights_path(ref) is None  # neither the snapshot link nor the blob is kept
    data = payload()
    server.add_hf_file("org/m", "w.pt", data)
    assert fetch_weights(ref).read_bytes() == data
