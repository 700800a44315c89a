"""The worked example of docs/model_composition.md builds (with a tiny stand-in for the Prithvi backbone)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml
from geo_core.models import EncoderDecoderFactory

DOC = Path(__file__).resolve().parents[3] / "docs" / "model_composition.md"


def _example() -> dict[str, Any]:
    text = DOC.read_text(encoding="utf-8")
    match = re.search(r"<!-- model-composition-example -->\s*```yaml\n(.*?)```", text, re.S)
    assert match, "the worked example block is missing"
    return yaml.safe_load(match.group(1))  # type: ignore[no-any-return]


@pytest.mark.skipif(not DOC.is_file(), reason="docs are not part of this checkout")
def test_worked_example_builds_and_runs() -> None:
    config = _example()["model"]["init_args"]
    args = dict(config["model_args"])
    assert args.pop("backbone") == "prithvi_eo_v2_300"
    args.pop("backbone_pretrained")
    # a 24-block tiny ViT stands in for Prithvi so SelectIndices [5, 11, 17, 23] applies unchanged
    model = EncoderDecoderFactory().build_model(
        "segmentation", backbone="tiny_vit", backbone_depth=24, backbone_embed_dim=16, **args
    )
    out = model(torch.randn(1, 6, 40, 24))
    assert out.output.shape == (1, 2, 40, 24)
    assert set(out.auxiliary_heads) == set(config["aux_loss"]) == {"aux_fcn"}
