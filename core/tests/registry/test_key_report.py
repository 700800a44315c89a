"""The one key report of checkpoint errors (count, keys as in the file, singular for one) and its test helper."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from geo_core import CheckpointError, key_report
from geo_core.testing import check_key_report


def test_counts_and_names_the_keys_singular_for_one() -> None:
    assert key_report(["a.weight"], []) == "1 missing key ('a.weight')"
    assert key_report([], ["b", "c"]) == "2 unexpected keys ('b', 'c')"
    assert key_report(["a"], ["b"]) == "1 missing key ('a'); 1 unexpected key ('b')"
    assert key_report([f"k{i}" for i in range(9)], limit=2) == "9 missing keys ('k0', 'k1', ...)"
    assert key_report() == ""


def _strict_loader(own: dict[str, torch.Tensor]) -> Callable[[Path], object]:
    def build(path: Path) -> object:
        sd = torch.load(path, weights_only=True)["model"]
        missing = [k for k in own if k not in sd]
        unexpected = [k for k in sd if k not in own]
        if missing or unexpected:
            raise CheckpointError(key_report(missing, unexpected), path=path)
        return sd

    return build


def test_check_key_report_passes_a_good_report_and_fails_a_vague_one(tmp_path: Path) -> None:
    own = {"a.weight": torch.zeros(2), "b.weight": torch.zeros(2)}
    check_key_report(_strict_loader(own), own, tmp_path, drop="b.weight", wrap=lambda sd: {"model": sd})

    def vague(path: Path) -> object:
        raise CheckpointError("the checkpoint does not match", path=path)

    with pytest.raises(AssertionError, match="1 missing key"):
        check_key_report(vague, own, tmp_path, drop="a.weight")
    with pytest.raises(AssertionError, match="should raise a CheckpointError"):
        check_key_report(lambda p: None, own, tmp_path, drop="a.weight")
