"""Shared fixtures: random checkpoints in the official key layouts, written under tmp_path."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

# Depth-reduced sizes keep every test on small CPUs fast; the key layout is the released one.
SMALL = {"depth": 2, "decoder_depth": 1}


def official_keys(depth: int, decoder_depth: int, temporal: bool, location: bool) -> set[str]:
    """The key names of a released v2 MAE checkpoint (``encoder.``/``decoder.`` prefixes)."""
    block = [
        "norm1.weight",
        "norm1.bias",
        "attn.qkv.weight",
        "attn.qkv.bias",
        "attn.proj.weight",
        "attn.proj.bias",
        "norm2.weight",
        "norm2.bias",
        "mlp.fc1.weight",
        "mlp.fc1.bias",
        "mlp.fc2.weight",
        "mlp.fc2.bias",
    ]
    keys = {
        "encoder.cls_token",
        "encoder.pos_embed",
        "encoder.patch_embed.proj.weight",
        "encoder.patch_embed.proj.bias",
        "encoder.norm.weight",
        "encoder.norm.bias",
        "decoder.decoder_embed.weight",
        "decoder.decoder_embed.bias",
        "decoder.mask_token",
        "decoder.decoder_pos_embed",
        "decoder.decoder_norm.weight",
        "decoder.decoder_norm.bias",
        "decoder.decoder_pred.weight",
        "decoder.decoder_pred.bias",
    }
    keys |= {f"encoder.blocks.{i}.{k}" for i in range(depth) for k in block}
    keys |= {f"decoder.decoder_blocks.{i}.{k}" for i in range(decoder_depth) for k in block}
    if temporal:
        keys |= {"encoder.temporal_embed_enc.scale", "decoder.temporal_embed_dec.scale"}
    if location:
        keys |= {"encoder.location_embed_enc.scale", "decoder.location_embed_dec.scale"}
    return keys


def to_v1_layout(sd: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The flat layout of ``Prithvi_EO_V1_100M.pt``: prefixes removed (``decoder_*`` names stay distinct)."""
    return {k.split(".", 1)[1]: v for k, v in sd.items()}


@pytest.fixture
def write_checkpoint(tmp_path: Path) -> Callable[..., tuple[Path, Any]]:
    """Build a random depth-reduced MAE of ``variant``, save it in ``layout`` (v1/v2), return (path, model)."""

    def write(
        variant: str, layout: str = "v2", name: str | None = None, seed: int = 0, **kwargs: Any
    ) -> tuple[Path, Any]:
        from geo_plugin_prithvi import build_mae

        torch.manual_seed(seed)
        mae = build_mae(variant, **{**SMALL, **kwargs})
        with torch.no_grad():
            for p in mae.parameters():
                p.add_(torch.randn_like(p) * 0.02)
        sd = {k: v.clone() for k, v in mae.state_dict().items()}
        if layout == "v1":
            sd = to_v1_layout(sd)
        path = tmp_path / (name or f"{variant}_{layout}.pt")
        torch.save(sd, path)
        return path, mae

    return write


@pytest.fixture(autouse=True)
def _isolated_weight_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never look at the real ~/.cache nor the network: caches under tmp_path, offline unless a test serves weights."""
    monkeypatch.setenv("GEO_WEIGHTS_DIR", str(tmp_path / "weights"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.setenv("GEO_OFFLINE", "1")
