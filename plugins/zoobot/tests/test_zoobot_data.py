"""CatalogDataModule: splits, image formats, and errors that list what is missing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from geo_core import ConfigError, InputDataError
from geo_plugin_zoobot import CatalogDataModule
from geo_plugin_zoobot.testing import THIRD_PARTY_WARNINGS, TREE_COLS, make_catalog

pytestmark = [pytest.mark.filterwarnings(spec) for spec in THIRD_PARTY_WARNINGS]


def test_split_column_and_batches(png_catalog: Path) -> None:
    dm = CatalogDataModule(label_cols=["bright"], catalog=png_catalog, batch_size=3, augment=False)
    dm.setup("fit")
    assert {k: len(v) for k, v in dm.datasets.items()} == {"train": 8, "val": 2, "test": 2}
    batch = next(iter(dm.train_dataloader()))
    assert batch["image"].shape == (3, 3, 32, 32) and batch["image"].dtype == torch.float32
    assert 0.0 <= float(batch["image"].min()) and float(batch["image"].max()) <= 1.0
    assert batch["label"].dtype == torch.long and len(batch["id_str"]) == 3


def test_fraction_split_is_seeded_and_complete(tmp_path: Path) -> None:
    df = make_catalog(tmp_path, n=20, with_split=False)

    def ids(seed: int) -> dict[str, list[str]]:
        dm = CatalogDataModule(
            label_cols=["brightness"], catalog=df, root=tmp_path, seed=seed, split_fractions=(0.6, 0.2, 0.2)
        )
        dm.setup("fit")
        return {k: dm.datasets[k].ids for k in ("train", "val", "test")}

    a, b, c = ids(1), ids(1), ids(2)
    assert a == b and a != c
    assert [len(a[k]) for k in ("train", "val", "test")] == [12, 4, 4]
    assert sorted(i for part in a.values() for i in part) == sorted(df["id_str"])


def test_geotiff_parquet_vote_counts_and_resizing(tif_catalog: Path) -> None:
    dm = CatalogDataModule(
        label_cols=TREE_COLS, catalog=tif_catalog, batch_size=4, image_size=16, scale=2.0, augment=False
    )
    dm.setup("fit")
    batch = next(iter(dm.train_dataloader()))
    assert batch["image"].shape == (4, 3, 16, 16)
    assert batch["label"].shape == (4, 4) and batch["label"].dtype == torch.float32


def test_explicit_catalogs_and_greyscale(tmp_path: Path) -> None:
    df = make_catalog(tmp_path, n=6, with_split=False)
    dm = CatalogDataModule(
        label_cols=["brightness"],
        train_catalog=df.iloc[:4],
        val_catalog=df.iloc[4:],
        root=tmp_path,
        greyscale=True,
        batch_size=2,
    )
    dm.setup("fit")
    assert dm.datasets["train"][0]["image"].shape == (1, 32, 32)
    assert dm.datasets["val"][0]["label"].dtype == torch.float32


def test_missing_columns_are_listed(tmp_path: Path) -> None:
    df = make_catalog(tmp_path, n=6).drop(columns=["file_loc"])
    dm = CatalogDataModule(label_cols=["bright", "nope"], catalog=df, root=tmp_path)
    with pytest.raises(InputDataError, match=r"lacks column\(s\) \['file_loc', 'nope'\]"):
        dm.setup("fit")


def test_missing_files_are_listed(tmp_path: Path) -> None:
    df = make_catalog(tmp_path, n=8)
    for name in ("img001.png", "img002.png"):
        (tmp_path / name).unlink()
    dm = CatalogDataModule(label_cols=["bright"], catalog=df, root=tmp_path)
    with pytest.raises(InputDataError, match="2 image file") as info:
        dm.setup("fit")
    assert "img001.png" in str(info.value) and "img002.png" in str(info.value)


def test_bad_inputs_are_explained(tmp_path: Path) -> None:
    df = make_catalog(tmp_path, n=6)
    with pytest.raises(InputDataError, match="not found"):
        CatalogDataModule(label_cols=["bright"], catalog=tmp_path / "nope.csv").setup("fit")
    df.loc[1, "bright"] = np.nan
    with pytest.raises(InputDataError, match="empty for 1 row"):
        CatalogDataModule(label_cols=["bright"], catalog=df, root=tmp_path).setup("fit")
    dup = make_catalog(tmp_path, n=6)
    dup.loc[1, "id_str"] = dup.loc[0, "id_str"]
    with pytest.raises(InputDataError, match="repeats id_str"):
        CatalogDataModule(label_cols=["bright"], catalog=dup, root=tmp_path).setup("fit")
    odd = make_catalog(tmp_path, n=4)
    odd["split"] = ["train", "validation", "holdout", "test"]
    with pytest.raises(InputDataError, match="holdout"):
        CatalogDataModule(label_cols=["bright"], catalog=odd, root=tmp_path).setup("fit")
    with pytest.raises(ConfigError, match="split_fractions"):
        CatalogDataModule(label_cols=["bright"], catalog=odd, split_fractions=(0.5, 0.5, 0.5))
    with pytest.raises(ConfigError, match="label_cols"):
        CatalogDataModule(catalog=make_catalog(tmp_path, n=6), root=tmp_path).setup("fit")
    (tmp_path / "x.bmp").write_bytes(b"")
    bmp = pd.DataFrame({"id_str": ["a"], "file_loc": ["x.bmp"]})
    dm = CatalogDataModule(predict_catalog=bmp, root=tmp_path)
    dm.setup("predict")
    with pytest.raises(InputDataError, match="unsupported image type"):
        dm.datasets["predict"][0]
