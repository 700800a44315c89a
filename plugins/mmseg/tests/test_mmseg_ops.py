"""The mmcv.ops stand-in: installed only without compiled mmcv, pure-PyTorch point_sample, clear errors."""

from __future__ import annotations

import ast
import importlib.util
import sys
import types
from pathlib import Path
from typing import Any

import geo_core
import pytest
import torch
from geo_plugin_mmseg import CompiledOpsRequiredError, _env, _mmcv_ops
from geo_plugin_mmseg._mmseg import mmseg_models


def _mmcv_dir() -> Path:
    spec = importlib.util.find_spec("mmcv")
    assert spec is not None and spec.submodule_search_locations
    return Path(next(iter(spec.submodule_search_locations)))


def test_this_environment_has_mmcv_lite_and_the_stand_in_serves_mmcv_ops() -> None:
    assert not _env.compiled_mmcv_available()
    mmseg_models()
    import mmcv

    assert _mmcv_ops.is_stand_in(sys.modules["mmcv.ops"])
    assert mmcv.ops is sys.modules["mmcv.ops"]
    assert _mmcv_ops.install() is True  # idempotent


def test_names_match_mmcv_ops_all() -> None:
    tree = ast.parse((_mmcv_dir() / "ops" / "__init__.py").read_text())
    names = next(
        ast.literal_eval(n.value)
        for n in tree.body
        if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", "") == "__all__"
    )
    assert set(names) == _mmcv_ops.MMCV_OPS_NAMES


def test_point_sample_matches_mmcv_lite() -> None:
    # mmcv-lite's own ops/point_sample.py is pure PyTorch; load that one file by path.
    spec = importlib.util.spec_from_file_location("_mmcv_lite_point_sample", _mmcv_dir() / "ops" / "point_sample.py")
    assert spec is not None and spec.loader is not None
    ref = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ref)
    torch.manual_seed(0)
    feats = torch.randn(2, 3, 5, 7)
    for points in (torch.rand(2, 11, 2), torch.rand(2, 4, 6, 2)):
        for align in (False, True):
            got = _mmcv_ops.point_sample(feats, points, align_corners=align)
            torch.testing.assert_close(got, ref.point_sample(feats, points, align_corners=align))


def test_placeholders_raise_with_the_install_line() -> None:
    mmseg_models()
    from mmcv.ops import CrissCrossAttention, sigmoid_focal_loss

    assert isinstance(CrissCrossAttention, type)
    with pytest.raises(CompiledOpsRequiredError, match=r"mmcv\.ops\.CrissCrossAttention") as info:
        CrissCrossAttention(8)
    assert isinstance(info.value, geo_core.MissingDependencyError)
    assert "mmcv==2.1.0" in str(info.value) and "mmcv-lite" in str(info.value)
    with pytest.raises(CompiledOpsRequiredError, match="sigmoid_focal_loss"):
        sigmoid_focal_loss(torch.zeros(1), torch.zeros(1))
    with pytest.raises(AttributeError):
        sys.modules["mmcv.ops"].not_an_mmcv_op  # noqa: B018
    assert not hasattr(sys.modules["mmcv.ops"], "__path__")


@pytest.mark.parametrize("name", ["mmseg:CCHead", "mmseg:PSAHead"])
def test_heads_needing_compiled_mmcv_say_so(name: str, tiny: dict[str, dict[str, Any]]) -> None:
    with pytest.raises(CompiledOpsRequiredError, match="compiled ops") as info:
        geo_core.DECODERS.build(name, [16], num_classes=2, **tiny[name.split(":")[1]])
    assert name in str(info.value) and "pip install" in str(info.value)


def test_placeholder_error_reaches_the_user_past_the_early_check(monkeypatch: pytest.MonkeyPatch) -> None:
    # Even without the up-front check, mmseg's CCHead hits the placeholder and the same error surfaces.
    from geo_plugin_mmseg import _decoder

    monkeypatch.setattr(_decoder, "compiled_mmcv_available", lambda: True)
    with pytest.raises(CompiledOpsRequiredError, match=r"mmcv\.ops\.CrissCrossAttention"):
        geo_core.DECODERS.build("mmseg:CCHead", [16], num_classes=2, channels=8)


def test_never_shadows_compiled_mmcv(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "mmcv.ops", raising=False)
    monkeypatch.setattr(_mmcv_ops, "compiled_mmcv_available", lambda: True)
    assert _mmcv_ops.install() is False
    assert "mmcv.ops" not in sys.modules


def test_never_replaces_an_imported_mmcv_ops(monkeypatch: pytest.MonkeyPatch) -> None:
    real = types.ModuleType("mmcv.ops")
    monkeypatch.setitem(sys.modules, "mmcv.ops", real)
    assert _mmcv_ops.install() is False
    assert sys.modules["mmcv.ops"] is real


def test_compiled_mmcv_is_detected_by_its_extension_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pkg = tmp_path / "mmcv"
    pkg.mkdir()
    spec = importlib.machinery.ModuleSpec("mmcv", None, is_package=True)
    spec.submodule_search_locations = [str(pkg)]
    monkeypatch.setattr(_env.importlib.util, "find_spec", lambda name: spec)
    assert not _env.compiled_mmcv_available()
    (pkg / "_ext.cpython-311-x86_64-linux-gnu.so").write_bytes(b"")
    assert _env.compiled_mmcv_available()
