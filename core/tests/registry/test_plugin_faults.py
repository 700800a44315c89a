"""Plugins that raise at import, at registration or at build never take others down."""

from __future__ import annotations

import json
import sys

import geo_core
import pytest
from geo_core import BACKBONES, DuplicateComponentError, PluginLoadError
from geo_core._plugins import plugin_index
from geo_core.testing import fake_distribution
from typer.testing import CliRunner


@pytest.fixture
def sandbox(fresh, tmp_path):
    yield tmp_path
    sys.path[:] = [p for p in sys.path if p != str(tmp_path)]
    for m in [m for m in sys.modules if m.startswith("faulty_")]:
        del sys.modules[m]
    geo_core.reset_plugins()


def _hooks(body: str) -> str:
    return "from geo_core import hookimpl, ComponentSource, DoctorCheck\nGEO_HOOKSPEC_VERSION = 1\n" + body


def test_hook_raising_at_registration_marks_only_that_plugin_broken(sandbox):
    fake_distribution(
        sandbox,
        "geo-plugin-faultyreg",
        {"geo.plugins": {"faultyreg": "faulty_reg"}},
        modules={
            "faulty_reg.py": _hooks(
                "@hookimpl\ndef geo_component_sources():\n    raise RuntimeError('catalogue exploded')\n"
            )
        },
    )
    rec = plugin_index().plugins["faultyreg"]
    assert rec.status == "broken" and "catalogue exploded" in rec.reason
    assert BACKBONES.build("fixture:fixture_cnn").out_channels == [4, 8]
    with pytest.raises(PluginLoadError) as exc:
        BACKBONES.get("faultyreg:anything")
    assert isinstance(exc.value.__cause__, RuntimeError)


def test_hook_returning_wrong_type_is_broken(sandbox):
    fake_distribution(
        sandbox,
        "geo-plugin-faultytype",
        {"geo.plugins": {"faultytype": "faulty_type"}},
        modules={"faulty_type.py": _hooks("@hookimpl\ndef geo_component_sources():\n    return ['x']\n")},
    )
    rec = plugin_index().plugins["faultytype"]
    assert rec.status == "broken" and "not ComponentSource" in rec.reason


def test_plugin_cli_hook_failure_keeps_cli_alive(sandbox):
    from geo_core.cli import _app

    fake_distribution(
        sandbox,
        "geo-plugin-faultycli",
        {"geo.plugins": {"faultycli": "faulty_cli"}},
        modules={"faulty_cli.py": _hooks("@hookimpl\ndef geo_cli_commands(app):\n    raise ValueError('no')\n")},
    )
    _app._register_plugin_commands()
    assert plugin_index().plugins["faultycli"].status == "broken"
    res = CliRunner().invoke(_app.app, ["plugins", "list", "--json"])
    assert res.exit_code == 0
    rows = {d["plugin"]: d for d in json.loads(res.stdout)}
    assert rows["faultycli"]["status"] == "broken"
    assert rows["fixture"]["status"] == "ok"


def test_doctor_reports_a_raising_self_check(sandbox, fresh):
    from geo_core.cli import _app

    fake_distribution(
        sandbox,
        "geo-plugin-faultydoc",
        {"geo.plugins": {"faultydoc": "faulty_doc"}},
        modules={"faulty_doc.py": _hooks("@hookimpl\ndef geo_doctor():\n    raise OSError('disk gone')\n")},
    )
    fresh.setenv("GEO_PLUGINS", "faultydoc,fixture")
    geo_core.reset_plugins()
    res = CliRunner().invoke(_app.app, ["plugins", "doctor", "--json"])
    assert res.exit_code == 1
    rows = {d["plugin"]: d for d in json.loads(res.stdout)}
    assert "disk gone" in rows["faultydoc"]["error"]
    assert rows["fixture"]["ok"]


def test_component_raising_at_import_is_chained(sandbox):
    fake_distribution(
        sandbox,
        "geo-plugin-faultyimp",
        {"geo.backbones": {"bad": "faulty_imp:Net"}},
        modules={"faulty_imp.py": "raise ZeroDivisionError('at import')\n"},
    )
    assert "faultyimp:bad" in BACKBONES.names()
    with pytest.raises(PluginLoadError) as exc:
        BACKBONES.build("faultyimp:bad")
    assert isinstance(exc.value.__cause__, ZeroDivisionError)


def test_two_distributions_claiming_one_id(sandbox):
    files = {
        "faulty_a/geo-plugin.toml": "[plugin]\nname='same'\n",
        "faulty_b/geo-plugin.toml": "[plugin]\nname='same'\n",
    }
    fake_distribution(
        sandbox,
        "geo-plugin-faulty-a",
        {"geo.manifests": {"same": "faulty_a"}, "geo.backbones": {"net": "faulty_a:Net"}},
        modules={"faulty_a/__init__.py": ""},
        files=files,
    )
    fake_distribution(
        sandbox,
        "geo-plugin-faulty-b",
        {"geo.manifests": {"same": "faulty_b"}, "geo.backbones": {"net": "faulty_b:Net"}},
        modules={"faulty_b/__init__.py": ""},
    )
    with pytest.raises(DuplicateComponentError) as exc:
        BACKBONES.names()
    assert "geo-plugin-faulty-a" in str(exc.value) and "geo-plugin-faulty-b" in str(exc.value)


def test_unmet_requirement_lists_install_line(sandbox):
    fake_distribution(
        sandbox,
        "geo-plugin-faultyreq",
        {"geo.manifests": {"faultyreq": "faulty_req"}, "geo.decoders": {"Head": "faulty_req._h:Head"}},
        modules={"faulty_req/__init__.py": ""},
        files={
            "faulty_req/geo-plugin.toml": (
                "[plugin]\nname='faultyreq'\nrequires=['geo-lib-that-is-absent==1.0']\n"
                'install="pip install geo-plugin-faultyreq geo-lib-that-is-absent==1.0"\n'
            )
        },
    )
    rec = plugin_index().plugins["faultyreq"]
    assert rec.status == "broken"
    assert "pip install geo-plugin-faultyreq geo-lib-that-is-absent==1.0" in rec.reason
    with pytest.raises(PluginLoadError, match="geo-lib-that-is-absent is not installed"):
        geo_core.DECODERS.get("faultyreq:Head")


def test_doctor_index_check_names_versions_and_the_fix():
    import importlib.metadata as md

    from geo_core import DoctorCheck

    have = md.version("pluggy")
    ok = DoctorCheck.index_matches("pluggy", have, "pip install pluggy", "regen")
    assert ok.ok and ok.detail == f"index built for pluggy {have}, installed {have}"
    stale = DoctorCheck.index_matches("pluggy", "0.0.1", "pip install pluggy", "python -m regen")
    assert not stale.ok and stale.detail.endswith(f"installed {have}; regenerate with: python -m regen")
    absent = DoctorCheck.index_matches("geo-no-such-dist", "1.0", "pip install geo-no-such-dist", "x")
    assert (absent.name, absent.ok, absent.detail) == (
        "geo-no-such-dist installed",
        False,
        "pip install geo-no-such-dist",
    )
