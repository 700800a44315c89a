"""Synthetic catalogs for tests and demos: seeded images whose labels are learnable from the pixels."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["make_catalog", "trainer_kwargs", "THIRD_PARTY_WARNINGS", "TREE_PAIRS", "TREE_DEPS", "TREE_COLS", "SIZE"]

SIZE = 32

#: pytest ``filterwarnings`` specs for warnings raised inside third-party code, not ours to fix:
#: Lightning 2.6 builds torch pytree ``LeafSpec`` objects, which torch 2.14 deprecates;
#: rasterio's ``from_origin`` multiplies ``Affine`` objects with ``*``, which affine 3.x deprecates.
THIRD_PARTY_WARNINGS = [
    r"ignore:.*isinstance\(treespec, LeafSpec\).*:FutureWarning",
    r"ignore:Use `@` matmul instead of `\*` mul operator:PendingDeprecationWarning",
]


def make_catalog(root: Path, n: int = 12, *, kind: str = "png", seed: int = 0, with_split: bool = True) -> pd.DataFrame:
    """Write ``n`` images and return a catalog with classification, regression and vote-count labels.

    Brightness drives every label: ``bright`` (0/1), ``brightness`` (float in [0, 1]) and votes
    for ``ring_yes``/``ring_no`` plus an unanswered follow-up question for half the rows.
    """
    from geo_core.testing import write_geotiff
    from PIL import Image

    rng = np.random.default_rng(seed)
    rows: list[dict[str, Any]] = []
    for i in range(n):
        level = float(rng.random())
        img = np.clip(level + 0.1 * rng.standard_normal((3, SIZE, SIZE)), 0, 1).astype(np.float32)
        if kind == "png":
            path = root / f"img{i:03d}.png"
            Image.fromarray((img.transpose(1, 2, 0) * 255).astype(np.uint8)).save(path)
        else:
            path = write_geotiff(root / f"img{i:03d}.tif", img, origin=(500000.0 + 960 * i, 4200000.0))
        yes = round(10 * level)
        rows.append(
            {
                "id_str": f"id{i:03d}",
                "file_loc": path.name,
                "bright": int(level > 0.5),
                "brightness": level,
                "ring_yes": yes,
                "ring_no": 10 - yes,
                "ring-type_inner": 3 if i % 2 else 0,
                "ring-type_outer": 1 if i % 2 else 0,
            }
        )
    df = pd.DataFrame(rows)
    if with_split:
        df["split"] = ["train"] * (n - 4) + ["val"] * 2 + ["test"] * 2
    return df


#: A two-question vote-count tree matching the columns of :func:`make_catalog`.
TREE_PAIRS = {"ring": ["_yes", "_no"], "ring-type": ["_inner", "_outer"]}
TREE_DEPS = {"ring": None, "ring-type": "ring_yes"}
TREE_COLS = ["ring_yes", "ring_no", "ring-type_inner", "ring-type_outer"]


def trainer_kwargs(**extra: Any) -> dict[str, Any]:
    """Settings that keep a fit to a few CPU steps."""
    kw: dict[str, Any] = dict(
        accelerator="cpu",
        devices=1,
        max_epochs=1,
        limit_train_batches=2,
        limit_val_batches=1,
        enable_progress_bar=False,
        enable_model_summary=False,
        log_every_n_steps=1,
    )
    kw.update(extra)
    return kw
