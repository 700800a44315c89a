"""check_plugin_metadata on the core, on the fixture third-party plugin, and its failure modes."""

from __future__ import annotations

import geo_core
import pytest
from geo_core.testing import _metadata, check_plugin_metadata


def test_core_metadata_lists_without_torch() -> None:
    found = check_plugin_metadata("core", import_components=False)
    assert "core:UNetDecoder" in found["decoder"] and "core:EncoderDecoderFactory" in found["model_factory"]


@pytest.mark.parametrize("kind", ["backbone", "decoder", "neck", "model_factory"])
def test_core_model_components_import_and_carry_metadata(kind: str) -> None:
    reg = geo_core.REGISTRIES[kind]
    for qid in reg.names(source="core"):
        assert callable(reg.get(qid))
    if kind == "decoder":
        for qid in reg.names(source="core"):
            builder = reg.get(qid)
            assert reg.info(qid).metadata["includes_head"] is builder.includes_head, qid
    if kind == "backbone":
        assert geo_core.BACKBONES.info("tiny_cnn").metadata["out_channels"] == reg.build("tiny_cnn").out_channels


def test_fixture_plugin_metadata() -> None:
    found = check_plugin_metadata("fixture")
    assert "fixture:fixture_cnn" in found["backbone"]


def test_failures_are_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(AssertionError, match="not installed"):
        check_plugin_metadata("no_such_plugin")
    monkeypatch.setattr(_metadata, "_allowed", lambda top_level: False)  # listing imports the plugin's package
    with pytest.raises(AssertionError, match=r"imported \[.*'geo_fixture_plugin'"):
        check_plugin_metadata("fixture", import_components=False)


def test_dynamic_catalogues_are_sampled() -> None:
    from geo_core.testing._metadata import DYNAMIC_SAMPLE, _to_check

    names = [f"fixture:hook_{i}" for i in range(100)]
    picked = _to_check("backbone", "fixture", ["fixture:fixture_cnn", *names])
    assert picked[0] == "fixture:fixture_cnn" and len(picked) == 1 + DYNAMIC_SAMPLE
