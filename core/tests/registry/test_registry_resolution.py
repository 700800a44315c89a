"""Registry behaviour: names, resolution priority, did-you-mean, in-process registration."""

from __future__ import annotations

import logging

import geo_core
import pytest
from geo_core import BACKBONES, DECODERS, DuplicateComponentError, UnknownComponentError


def test_names_are_qualified_and_sorted(fresh):
    names = BACKBONES.names()
    assert names == sorted(names)
    assert all(":" in n for n in names)
    assert {"core:tiny_cnn", "core:tiny_vit", "fixture:fixture_cnn"} <= set(names)
    assert BACKBONES.names(source="fixture") == [n for n in names if n.startswith("fixture:")]


def test_membership_by_plain_and_qualified_name(fresh):
    assert "core:UNetDecoder" in DECODERS
    assert "UNetDecoder" in DECODERS
    assert "core:NoSuchDecoder" not in DECODERS
    assert 42 not in DECODERS


def test_plain_name_prefers_core_over_plugins_and_logs_once(fresh, caplog):
    caplog.set_level(logging.INFO, logger="geo_core.registry")
    assert BACKBONES.resolve("tiny_cnn") == "core:tiny_cnn"
    assert BACKBONES.resolve("tiny_cnn") == "core:tiny_cnn"
    msgs = [r.getMessage() for r in caplog.records if "tiny_cnn" in r.getMessage()]
    assert len(msgs) == 1 and "fixture:tiny_cnn" in msgs[0]
    assert BACKBONES.info("tiny_cnn").alternatives == ("fixture:tiny_cnn",)


def test_geo_priority_env_changes_resolution(fresh):
    fresh.setenv("GEO_PRIORITY", "fixture")
    geo_core.reset_plugins()
    assert BACKBONES.resolve("tiny_cnn") == "fixture:tiny_cnn"


def test_set_priority_api(fresh):
    geo_core.set_priority(["fixture"])
    try:
        assert BACKBONES.resolve("tiny_cnn") == "fixture:tiny_cnn"
    finally:
        geo_core.set_priority(None)
    assert BACKBONES.resolve("tiny_cnn") == "core:tiny_cnn"


def test_unknown_name_suggests_close_matches(fresh):
    with pytest.raises(UnknownComponentError) as exc:
        DECODERS.resolve("UnetDecoder")
    assert isinstance(exc.value, KeyError)
    assert "UNetDecoder" in exc.value.suggestions
    assert "did you mean" in str(exc.value)
    assert exc.value.kind == "decoder" and exc.value.name == "UnetDecoder"


def test_terratorch_underscore_names_point_to_qualified_id(fresh):
    with pytest.raises(UnknownComponentError) as exc:
        BACKBONES.resolve("fixture_fixture_cnn")
    assert exc.value.suggestions == ["fixture:fixture_cnn"]


def test_unknown_qualified_name_in_known_source(fresh):
    with pytest.raises(UnknownComponentError) as exc:
        BACKBONES.resolve("fixture:fixture_cn")
    assert "fixture:fixture_cnn" in exc.value.suggestions


def test_info_reads_manifest_without_import(fresh):
    import sys

    sys.modules.pop("geo_fixture_plugin._backbones", None)
    info = BACKBONES.info("fixture:fixture_cnn")
    assert info.metadata["out_channels"] == [4, 8]
    assert info.metadata["licence"] == "MIT"
    assert info.distribution == "geo-fixture-plugin"
    assert info.target == "geo_fixture_plugin._backbones:FixtureCNN"
    assert "geo_fixture_plugin._backbones" not in sys.modules
    assert info.as_dict()["id"] == "fixture:fixture_cnn"


def test_build_imports_and_constructs(fresh):
    model = BACKBONES.build("fixture:fixture_cnn", in_channels=6)
    assert model.out_channels == [4, 8]


def test_builder_exception_propagates_unchanged(fresh):
    from geo_fixture_plugin._backbones import BuilderFailure

    with pytest.raises(BuilderFailure, match="always fails"):
        BACKBONES.build("fixture:failing_builder")
    # a TypeError from bad kwargs is the builder's own error too, not "not found"
    with pytest.raises(TypeError, match="unexpected arguments"):
        BACKBONES.build("fixture:fixture_cnn", bogus=1)


def test_hook_catalogue_lists_and_builds_with_name_bound(fresh):
    assert "fixture:hook_cnn_a" in BACKBONES.names()
    model = BACKBONES.build("hook_cnn_b", in_channels=2)
    assert model.catalogue_name == "hook_cnn_b"
    assert BACKBONES.info("fixture:hook_cnn_a").metadata["summary"] == "hook catalogue entry hook_cnn_a"


def test_open_ended_names_are_accepted_but_not_listed(fresh):
    assert "fixture:open-anything" not in BACKBONES.names()
    assert "fixture:open-anything" in BACKBONES
    assert BACKBONES.build("fixture:open-anything").catalogue_name == "open-anything"
    assert BACKBONES.resolve("open-xyz") == "fixture:open-xyz"


def test_local_registration_decorators(fresh):
    @BACKBONES.register
    def my_local_net(**kw):
        return ("built", kw)

    @BACKBONES.register(name="named_net", metadata={"out_channels": [1]})
    def _other(**kw):
        return "other"

    try:
        assert "local:my_local_net" in BACKBONES.names()
        assert BACKBONES.build("my_local_net", a=1) == ("built", {"a": 1})
        assert BACKBONES.info("named_net").metadata == {"out_channels": [1]}
        assert BACKBONES.info("named_net").target.endswith("_other")
        with pytest.raises(DuplicateComponentError, match="registered twice"):
            BACKBONES.register(name="named_net")(lambda: None)
        BACKBONES.register(name="named_net", override=True)(lambda: "new")
        assert BACKBONES.build("named_net") == "new"
    finally:
        BACKBONES.unregister("my_local_net")
        BACKBONES.unregister("named_net")
    assert "local:my_local_net" not in BACKBONES.names()


def test_local_registration_wins_over_core(fresh):
    @BACKBONES.register(name="tiny_cnn")
    def shadow(**kw):
        return "local"

    try:
        assert BACKBONES.build("tiny_cnn") == "local"
        assert BACKBONES.resolve("core:tiny_cnn") == "core:tiny_cnn"
    finally:
        BACKBONES.unregister("tiny_cnn")


def test_register_rejects_separator_in_name(fresh):
    with pytest.raises(ValueError, match="may not contain"):
        BACKBONES.register(name="a:b")(lambda: None)


def test_duplicate_qualified_id_across_distributions_names_both(fresh):
    from geo_core._plugins import EntryRecord, plugin_index

    idx = plugin_index()
    idx.entries["backbone"].append(
        EntryRecord("backbone", "fixture_cnn", "fixture", "other_pkg:Net", "geo-other-dist", "9.9")
    )
    with pytest.raises(DuplicateComponentError) as exc:
        BACKBONES.names()
    assert "geo-fixture-plugin" in str(exc.value) and "geo-other-dist" in str(exc.value)


def test_unknown_registry_kind():
    with pytest.raises(ValueError, match="unknown registry kind"):
        geo_core.Registry("widget")


def test_two_outside_sources_serving_one_plain_name_warn_once_naming_both(fresh, tmp_path, caplog):
    """issue 22: a newly installed package could silently take over another plugin's plain name."""
    from geo_core.testing import fake_distribution

    for src in ("zebra", "aardvark"):  # neither declares a priority tier: the alphabet decides, loudly
        fake_distribution(
            tmp_path,
            f"geo-plugin-{src}",
            {"geo.backbones": {"sharednet": f"{src}_pkg:Net"}},
            modules={f"{src}_pkg/__init__.py": "class Net:\n    out_channels = [1]\n"},
            activate=False,
        )
    fresh.syspath_prepend(str(tmp_path))
    geo_core.reset_plugins()
    caplog.set_level(logging.INFO, logger="geo_core.registry")
    assert BACKBONES.resolve("sharednet") == "aardvark:sharednet"  # as documented: alphabetical among the rest
    assert BACKBONES.resolve("sharednet") == "aardvark:sharednet"
    warned = [r for r in caplog.records if r.levelno == logging.WARNING and "sharednet" in r.getMessage()]
    assert len(warned) == 1, caplog.text
    assert "aardvark:sharednet" in warned[0].getMessage() and "zebra:sharednet" in warned[0].getMessage()
    assert "GEO_PRIORITY=zebra" in warned[0].getMessage()
    fresh.setenv("GEO_PRIORITY", "zebra")  # the user chose: no warning
    geo_core.reset_plugins()
    caplog.clear()
    assert BACKBONES.resolve("sharednet") == "zebra:sharednet"
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text


def test_a_ranked_source_winning_over_an_outside_one_is_only_logged(fresh, caplog):
    caplog.set_level(logging.INFO, logger="geo_core.registry")
    assert BACKBONES.resolve("tiny_cnn") == "core:tiny_cnn"  # core beats the fixture plugin by tier, not alphabet
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text
