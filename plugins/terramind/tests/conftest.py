"""Shared fixtures: random checkpoints in the released TerraMind layout, written under tmp_path."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch


def released_layout(model: Any) -> dict[str, torch.Tensor]:
    """The model's encoder keys plus what a released encoder-decoder file also holds (never ``missing_mod_token``)."""
    sd = {k: v.detach().clone() for k, v in model.state_dict().items() if k != "missing_mod_token"}
    d = model.dim
    sd["encoder_embeddings.untok_sen1rtc@224.proj.weight"] = torch.randn(d, 2 * 256)
    sd["encoder_embeddings.untok_sen1rtc@224.mod_emb"] = torch.randn(1, 1, d)
    sd["encoder_embeddings.untok_sen1rtc@224.pos_emb"] = torch.randn(1, 196, d)
    sd["decoder.0.attn.qkv.weight"] = torch.randn(3 * d, d)
    sd["decoder_embeddings.tok_sen2l2a@224.token_emb.weight"] = torch.randn(8, d)
    sd["decoder_norm.weight"] = torch.ones(d)
    sd["decoder_proj_context.weight"] = torch.randn(d, d)
    sd["mask_token"] = torch.zeros(1, 1, d)
    return sd


@pytest.fixture
def write_checkpoint(tmp_path: Path) -> Callable[..., tuple[Path, Any]]:
    """Build a random ``test_terramind_v1`` (or ``variant``), save it in the released layout, return (path, model)."""

    def write(
        variant: str = "test_terramind_v1", seed: int = 0, transform: Any = None, **kwargs: Any
    ) -> tuple[Path, Any]:
        from geo_plugin_terramind import build_backbone

        torch.manual_seed(seed)
        model = build_backbone(variant, **{"modalities": ["S2L2A", "S1GRD", "LULC"], **kwargs})
        with torch.no_grad():
            for p in model.parameters():
                p.add_(torch.randn_like(p) * 0.02)
        sd = released_layout(model)
        if transform is not None:
            sd = transform(sd)
        path = tmp_path / f"{variant}_{seed}.pt"
        torch.save(sd, path)
        return path, model.eval()

    return write


@pytest.fixture(autouse=True)
def _isolated_weight_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never look at the real ~/.cache: point the weight and HF caches into tmp_path."""
    monkeypatch.setenv("GEO_WEIGHTS_DIR", str(tmp_path / "weights"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
