"""``geo plugins``, ``geo list`` and ``geo info`` through Typer's runner."""

from __future__ import annotations

import json

import pytest
from geo_core import __version__
from geo_core.cli._app import _register_plugin_commands, app
from typer.testing import CliRunner

runner = CliRunner()


def invoke(*args: str):
    _register_plugin_commands()
    return runner.invoke(app, list(args))


def test_version(fresh):
    res = invoke("--version")
    assert res.exit_code == 0
    assert res.stdout.splitlines()[0] == f"geo {__version__}"  # then plugins, torch and lightning (issue 22)


def test_plugins_list_json_reports_status_and_counts(fresh):
    res = invoke("plugins", "list", "--json")
    assert res.exit_code == 0, res.output
    data = {d["plugin"]: d for d in json.loads(res.stdout)}
    assert data["core"]["status"] == "ok"
    assert data["core"]["distribution"] == "geo-core"
    assert data["core"]["components"]["decoder"] >= 8
    assert data["fixture"]["components"]["backbone"] == 5
    assert data["broken"]["status"] == "broken"
    assert "geo_missing_dependency_for_tests" in data["broken"]["reason"]
    assert data["oldspec"]["status"] == "incompatible"


def test_plugins_list_plain_table(fresh):
    res = invoke("plugins", "list")
    assert res.exit_code == 0
    lines = res.stdout.splitlines()
    assert lines[0].split()[:5] == ["plugin", "distribution", "version", "components", "status"]
    assert any(ln.startswith("fixture") and "ok" in ln for ln in lines)


def test_plugins_list_shows_disabled(fresh):
    fresh.setenv("GEO_DISABLE_PLUGINS", "fixture")
    import geo_core

    geo_core.reset_plugins()
    data = {d["plugin"]: d for d in json.loads(invoke("plugins", "list", "--json").stdout)}
    assert data["fixture"]["status"] == "disabled"


def test_doctor_fails_with_broken_plugin_and_shows_traceback(fresh):
    res = invoke("plugins", "doctor", "--json")
    assert res.exit_code == 1
    data = {d["plugin"]: d for d in json.loads(res.stdout)}
    assert not data["broken"]["ok"]
    assert "geo_missing_dependency_for_tests" in data["broken"]["error"]
    assert data["fixture"]["ok"]
    assert data["fixture"]["checks"] == [{"name": "fixture-self-check", "ok": True, "detail": "all good"}]
    assert data["fixture"]["import_seconds"] >= 0


def test_doctor_passes_with_allow_list(fresh):
    fresh.setenv("GEO_PLUGINS", "fixture")
    import geo_core

    geo_core.reset_plugins()
    res = invoke("plugins", "doctor")
    assert res.exit_code == 0, res.output


def test_list_kind_aliases_and_filters(fresh):
    res = invoke("list", "backbones", "--source", "fixture", "--json")
    assert json.loads(res.stdout) == [
        "fixture:failing_builder",
        "fixture:fixture_cnn",
        "fixture:hook_cnn_a",
        "fixture:hook_cnn_b",
        "fixture:tiny_cnn",
    ]
    res = invoke("list", "backbone", "--filter", "hook")
    assert res.stdout.split() == ["fixture:hook_cnn_a", "fixture:hook_cnn_b"]
    res = invoke("list", "backbones", "--filter", "tiny_*")
    assert "core:tiny_cnn" in res.stdout.split()


def test_list_unknown_kind_exits_2(fresh):
    res = invoke("list", "widgets")
    assert res.exit_code == 2
    assert "unknown kind 'widgets'" in res.output


def test_info_shows_choice_and_alternatives(fresh):
    res = invoke("info", "backbone", "tiny_cnn", "--json")
    assert res.exit_code == 0
    data = json.loads(res.stdout)
    assert data["id"] == "core:tiny_cnn"
    assert data["alternatives"] == ["fixture:tiny_cnn"]


def test_info_unknown_name_suggests(fresh):
    res = invoke("info", "decoder", "UnetDecoder")
    assert res.exit_code == 2
    assert "did you mean 'core:UNetDecoder'" in res.output or "'UNetDecoder'" in res.output


def test_info_component_of_broken_plugin(fresh):
    res = invoke("info", "backbone", "broken_net")
    assert res.exit_code == 2
    assert "plugin 'broken' failed to load" in res.output


def test_plugin_cli_command_is_added(fresh):
    res = invoke("fixture-hello")
    assert res.exit_code == 0
    assert "hello from the fixture plugin" in res.stdout


def test_custom_modules_option(fresh, tmp_path):
    mod = tmp_path / "extra.py"
    mod.write_text("import geo_core\n@geo_core.BACKBONES.register(name='cli_custom_net')\ndef b(**kw):\n    return 1\n")
    try:
        res = invoke("--custom-modules", str(mod), "list", "backbones", "--source", "local")
        assert res.exit_code == 0, res.output
        assert res.stdout.split() == ["local:cli_custom_net"]
    finally:
        from geo_core import BACKBONES

        BACKBONES.unregister("cli_custom_net")


@pytest.mark.parametrize("kind", ["backbones", "decoders", "necks", "model_factories", "tasks", "losses"])
def test_every_core_component_has_manifest_or_entry(fresh, kind):
    res = invoke("list", kind, "--source", "core", "--json")
    assert res.exit_code == 0
    assert json.loads(res.stdout)


def test_verb_of_a_missing_plugin_names_the_install_line(monkeypatch):
    """`geo migrate` without geo-plugin-migrate: one line naming the distribution, not click's "No such command"."""
    import subprocess
    import sys

    from geo_core import _first_party
    from geo_core.cli._app import missing_command_hint

    table = {"geo-plugin-nothere": {"source": "nothere", "command": ["frobnicate"]}}
    monkeypatch.setattr(_first_party, "_table", lambda: table)
    hint = missing_command_hint(["--verbose", "frobnicate", "x.yaml"])
    assert "`geo frobnicate` comes with geo-plugin-nothere" in hint
    assert hint.endswith("pip install geo-plugin-nothere")
    assert missing_command_hint(["list", "backbones"]) == ""  # a core verb
    assert missing_command_hint(["nosuchverb"]) == ""  # nobody provides it: click's own message
    # a first-party verb whose plugin is installed runs (geo-plugin-migrate is installed here)
    res = subprocess.run(
        [sys.executable, "-c", "from geo_core.cli import main; main()", "migrate", "--help"],
        capture_output=True,
        text=True,
    )
    assert res.returncode == 0 and "terratorch" in res.stdout, res.stderr
