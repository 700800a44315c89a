"""``geo weights download|list`` and the weights rows of ``geo info``, against the local server."""

from __future__ import annotations

import json
from collections.abc import Iterator

import geo_core
import pytest
from geo_core.cli._app import _register_plugin_commands, app
from geo_core.testing import WeightServer
from typer.testing import CliRunner

from .conftest import payload

runner = CliRunner()


def invoke(*args: str):
    _register_plugin_commands()
    return runner.invoke(app, list(args))


@pytest.fixture
def released(server: WeightServer) -> Iterator[WeightServer]:
    """Two in-process backbones with released weights: one on the fake Hub, one at a plain URL."""
    server.add_hf_file("org/tiny", "tiny.pt", payload(seed=1))
    url = server.add_file("rel/plain.pth", payload(seed=2))

    geo_core.BACKBONES.register(name="hub_net", metadata={"weights": {"hf_repo": "org/tiny", "filename": "tiny.pt"}})(
        lambda **kw: None
    )
    geo_core.BACKBONES.register(name="url_net", metadata={"weights": {"url": url}})(lambda **kw: None)
    geo_core.BACKBONES.register(name="bare_net")(lambda **kw: None)
    yield server
    for n in ("hub_net", "url_net", "bare_net"):
        geo_core.BACKBONES.unregister(f"local:{n}")


def test_download_list_and_info(released: WeightServer, monkeypatch: pytest.MonkeyPatch) -> None:
    res = invoke("info", "backbone", "hub_net")
    assert res.exit_code == 0, res.output
    assert "org/tiny/tiny.pt" in res.output and "geo weights download local:hub_net" in res.output

    res = invoke("weights", "download", "hub_net", "url_net")
    assert res.exit_code == 0, res.output
    assert "local:hub_net" in res.output and "local:url_net" in res.output

    res = invoke("info", "backbone", "hub_net")
    assert "not cached" not in res.output

    res = invoke("weights", "list", "--json")
    rows = {r["source"].split("@")[0]: r for r in json.loads(res.output)}
    assert rows["org/tiny/tiny.pt"]["status"] == "verified"
    assert rows[f"{released.url}/rel/plain.pth"]["status"] == "recorded"
    assert rows["org/tiny/tiny.pt"]["size"] == len(payload(seed=1))

    res = invoke("weights", "list", "--verify")
    assert res.exit_code == 0 and "re-checked now" in res.output

    # an air-gapped run uses what was pre-fetched; the server is never asked
    monkeypatch.setenv("GEO_OFFLINE", "1")
    n = len(released.requests)
    assert invoke("weights", "download", "hub_net", "url_net").exit_code == 0
    assert len(released.requests) == n


def test_download_errors_and_corrupt_cache(released: WeightServer) -> None:
    res = invoke("weights", "download", "bare_net", "hub_nett", "url_net")
    assert res.exit_code == 1
    assert "local:bare_net has no released weights" in res.output
    assert "did you mean 'hub_net'" in res.output or "did you mean 'local:hub_net'" in res.output
    assert "local:url_net" in res.output  # the good name is still fetched

    from geo_core.weights._url import url_cache_path

    cached = url_cache_path(f"{released.url}/rel/plain.pth")
    cached.write_bytes(b"tampered")
    res = invoke("weights", "list")
    assert res.exit_code == 1 and "mismatch" in res.output
