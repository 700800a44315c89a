"""Shared fixtures: random Clay checkpoints in the released layout, written under tmp_path."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch


@pytest.fixture
def write_checkpoint(tmp_path: Path) -> Callable[..., tuple[Path, Any]]:
    """Build a random ``variant``, save it like the released Lightning files, return (path, model).

    ``prefix`` is the key prefix (``model.encoder.`` as released); ``lightning`` wraps it in ``state_dict``
    next to decoder keys that loading must drop.
    """

    def write(
        variant: str = "clay_test",
        prefix: str = "model.encoder.",
        lightning: bool = True,
        drop: tuple[str, ...] = (),
        seed: int = 0,
        **kwargs: Any,
    ) -> tuple[Path, Any]:
        from geo_plugin_clay import build_backbone

        torch.manual_seed(seed)
        model = build_backbone(variant, **kwargs)
        with torch.no_grad():
            for p in model.parameters():
                p.add_(torch.randn_like(p) * 0.02)
        sd = {prefix + k: v.clone() for k, v in model.state_dict().items() if k not in drop}
        if lightning:
            sd["model.decoder.mask_patch"] = torch.randn(4)
            sd["model.proj.weight"] = torch.randn(2, 2)
        obj: dict[str, Any] = {"state_dict": sd, "epoch": 3} if lightning else sd
        path = tmp_path / f"{variant}-{seed}.ckpt"
        torch.save(obj, path)
        return path, model

    return write


@pytest.fixture(autouse=True)
def _isolated_weight_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never look at the real ~/.cache: point the weight and HF caches into tmp_path."""
    monkeypatch.setenv("GEO_WEIGHTS_DIR", str(tmp_path / "weights"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))
