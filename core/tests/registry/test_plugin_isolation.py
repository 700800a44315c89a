"""Broken, disabled and incompatible plugins never take the rest down."""

from __future__ import annotations

import geo_core
import pytest
from geo_core import BACKBONES, PluginLoadError
from geo_core._plugins import plugin_index


def test_broken_plugin_is_listed_with_reason(fresh):
    rec = plugin_index().plugins["broken"]
    assert rec.status == "broken"
    assert "geo_missing_dependency_for_tests" in rec.reason
    assert rec.distribution == "geo-broken-plugin"
    # the others keep working
    assert plugin_index().plugins["fixture"].status == "ok"
    assert BACKBONES.build("fixture:fixture_cnn").out_channels == [4, 8]


def test_component_of_broken_plugin_reraises_original_error(fresh):
    for name in ("broken:broken_net", "broken_net"):
        with pytest.raises(PluginLoadError) as exc:
            BACKBONES.get(name)
        assert isinstance(exc.value, ImportError)
        assert isinstance(exc.value.__cause__, ModuleNotFoundError)
        assert "geo_missing_dependency_for_tests" in str(exc.value)
    assert "broken:broken_net" not in BACKBONES.names()
    assert "broken_net" not in BACKBONES


def test_component_module_import_failure_is_chained(fresh):
    from geo_core._plugins import EntryRecord

    plugin_index().entries["backbone"].append(
        EntryRecord("backbone", "ghost", "fixture", "geo_fixture_plugin._no_such_module:Net", "geo-fixture-plugin", "0")
    )
    with pytest.raises(PluginLoadError) as exc:
        BACKBONES.build("fixture:ghost")
    assert isinstance(exc.value.__cause__, ModuleNotFoundError)
    assert "fixture:ghost" in str(exc.value)


def test_incompatible_hookspec_is_reported_not_called(fresh):
    rec = plugin_index().plugins["oldspec"]
    assert rec.status == "incompatible"
    assert "99" in rec.reason


def test_strict_mode_makes_broken_plugin_fatal(fresh):
    fresh.setenv("GEO_STRICT", "1")
    geo_core.reset_plugins()
    with pytest.raises(PluginLoadError):
        BACKBONES.names()


def test_strict_mode_passes_with_only_good_plugins(fresh):
    fresh.setenv("GEO_STRICT", "1")
    fresh.setenv("GEO_PLUGINS", "fixture")
    geo_core.reset_plugins()
    assert "fixture:fixture_cnn" in BACKBONES.names()


def test_disable_plugins(fresh):
    fresh.setenv("GEO_DISABLE_PLUGINS", "fixture, broken")
    geo_core.reset_plugins()
    assert plugin_index().plugins["fixture"].status == "disabled"
    assert not BACKBONES.names(source="fixture")
    assert BACKBONES.resolve("tiny_cnn") == "core:tiny_cnn"
    with pytest.raises(PluginLoadError, match="disabled"):
        BACKBONES.get("fixture:fixture_cnn")


def test_allow_list_keeps_core(fresh):
    fresh.setenv("GEO_PLUGINS", "fixture")
    geo_core.reset_plugins()
    statuses = {n: r.status for n, r in plugin_index().plugins.items()}
    assert statuses["core"] == "ok" and statuses["fixture"] == "ok"
    assert statuses["broken"] == "disabled"
    assert all(s == "disabled" for n, s in statuses.items() if n not in ("core", "fixture"))


def test_unmet_manifest_requirement_marks_plugin_broken(fresh, tmp_path):
    from geo_core._plugins import _requirement_problem

    assert _requirement_problem("geo-core>=0.1") is None
    assert "is not installed" in _requirement_problem("geo-surely-not-installed-pkg")
    assert "is required" in _requirement_problem("geo-core>=99")
