"""Official-style mmseg checkpoints: safe loading, explicit pickle opt-in, prefix mapping."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geo_core
import numpy as np
import pytest
import torch
from geo_plugin_mmseg import load_mmseg_checkpoint, read_state_dict

CHANNELS = [8, 16, 32, 64]


def _uper(num_classes: int = 3, **kwargs: Any) -> Any:
    return geo_core.DECODERS.build(
        "mmseg:UPerHead", CHANNELS, num_classes=num_classes, channels=8, pool_scales=(1, 2), **kwargs
    )


def _aux(num_classes: int = 3, **kwargs: Any) -> Any:
    return geo_core.DECODERS.build(
        "mmseg:FCNHead",
        CHANNELS,
        num_classes=num_classes,
        in_index=-2,
        channels=8,
        num_convs=1,
        concat_input=False,
        **kwargs,
    )


def _official(tmp_path: Path, *, with_numpy_meta: bool = True) -> tuple[Path, Any, Any]:
    """Write a checkpoint laid out like mmseg's (meta + state_dict with backbone/decode/aux prefixes)."""
    torch.manual_seed(1)
    decode, aux = _uper(), _aux()
    state = {"backbone.conv1.weight": torch.randn(4, 3, 3, 3)}
    state.update({f"decode_head.{k}": v for k, v in decode.head.state_dict().items()})
    state.update({f"auxiliary_head.{k}": v for k, v in aux.head.state_dict().items()})
    meta: dict[str, Any] = {"mmseg_version": "1.2.2", "epoch": 3}
    if with_numpy_meta:  # as in official checkpoints: numpy objects, which need unpickling
        meta.update({"seed": np.int64(0), "hist": np.arange(3)})
    path = tmp_path / "upernet_tiny.pth"
    torch.save({"meta": meta, "state_dict": state}, path)
    return path, decode, aux


def _same(a: Any, b: Any) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_pickled_metadata_needs_an_explicit_opt_in(tmp_path: Path) -> None:
    path, _, _ = _official(tmp_path)
    with pytest.raises(geo_core.CheckpointError, match="allow_pickle=True") as info:
        load_mmseg_checkpoint(_uper(), path)
    assert "numpy" in str(info.value)


def test_opt_in_loads_with_a_warning_and_maps_prefixes(tmp_path: Path) -> None:
    path, decode, aux = _official(tmp_path)
    fresh, fresh_aux = _uper(), _aux()
    assert not _same(fresh.head, decode.head)
    with pytest.warns(UserWarning, match="only do this for files you trust"):
        load_mmseg_checkpoint(fresh, path, allow_pickle=True)
    assert _same(fresh.head, decode.head)
    with pytest.warns(UserWarning, match="weights_only=False"):
        load_mmseg_checkpoint(fresh_aux, path, prefix="auxiliary_head.", allow_pickle=True)
    assert _same(fresh_aux.head, aux.head)


def test_plain_checkpoint_loads_safely_without_warning(tmp_path: Path) -> None:
    path, decode, _ = _official(tmp_path, with_numpy_meta=False)
    fresh = _uper()
    load_mmseg_checkpoint(fresh, path)  # warnings are errors: none may be raised
    assert _same(fresh.head, decode.head)


def test_decoder_argument_loads_the_checkpoint(tmp_path: Path) -> None:
    path, _, aux = _official(tmp_path)
    with pytest.warns(UserWarning, match="trust"):
        built = _aux(checkpoint=str(path), checkpoint_prefix="auxiliary_head.", checkpoint_allow_pickle=True)
    assert _same(built.head, aux.head)


def test_other_num_classes_fails_unless_mismatched_weights_are_skipped(tmp_path: Path) -> None:
    path, decode, _ = _official(tmp_path, with_numpy_meta=False)
    with pytest.raises(geo_core.CheckpointError, match=r"conv_seg\.weight"):
        load_mmseg_checkpoint(_uper(num_classes=5), path)
    five = _uper(num_classes=5)
    load_mmseg_checkpoint(five, path, skip_mismatched=True)
    assert torch.equal(five.head.fpn_bottleneck.conv.weight, decode.head.fpn_bottleneck.conv.weight)
    assert five.head.conv_seg.weight.shape[0] == 5


def test_wrong_prefix_and_wrong_head_are_explained(tmp_path: Path) -> None:
    path, _, _ = _official(tmp_path, with_numpy_meta=False)
    with pytest.raises(geo_core.CheckpointError, match=r"auxiliary_head\., backbone\., decode_head\."):
        load_mmseg_checkpoint(_uper(), path, prefix="head.")
    with pytest.raises(geo_core.CheckpointError, match=r"\d+ missing keys? \('"):
        load_mmseg_checkpoint(_uper(), path, prefix="auxiliary_head.")


def test_missing_file_and_bare_state_dict(tmp_path: Path) -> None:
    with pytest.raises(geo_core.CheckpointError, match="no such checkpoint"):
        read_state_dict(tmp_path / "absent.pth")
    head = _uper()
    torch.save(head.head.state_dict(), tmp_path / "bare.pth")
    fresh = _uper()
    load_mmseg_checkpoint(fresh, tmp_path / "bare.pth", prefix="")
    assert _same(fresh.head, head.head)
