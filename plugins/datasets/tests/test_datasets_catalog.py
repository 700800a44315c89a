from pathlib import Path

import geo_core
import numpy as np
import pytest
import torch
from geo_core import ConfigError, InputDataError
from geo_core.testing import write_geotiff

# rasterio's from_origin uses `Affine * Affine`, flagged by affine>=3.1 (third-party code).
pytestmark = pytest.mark.filterwarnings("ignore:Use `@` matmul instead of `\\*` mul operator:PendingDeprecationWarning")


def _images(folder: Path, names: list[str], bands: int = 3) -> None:
    for i, n in enumerate(names):
        write_geotiff(folder / n, bands=bands, height=8, width=8, seed=i)


def test_folder_per_class(tmp_path: Path) -> None:
    _images(tmp_path / "train" / "forest", ["a.tif", "b.tif"])
    _images(tmp_path / "train" / "water", ["c.tif", "d.tif"])
    (tmp_path / "train" / "water" / "notes.txt").write_text("not an image")
    _images(tmp_path / "val" / "water", ["e.tif"])
    dm = geo_core.DATAMODULES.build(
        "GenericNonGeoClassificationDataModule",
        batch_size=2,
        train_data_root=tmp_path / "train",
        val_data_root=tmp_path / "val",
        num_classes=2,
    )
    dm.setup("fit")
    assert dm.class_names == ["forest", "water"]
    batch = next(iter(dm.val_dataloader()))
    assert batch["label"].tolist() == [1] and batch["label"].dtype == torch.long
    assert batch["image"].shape == (1, 3, 8, 8)
    assert sorted(int(dm.datasets["train"][i]["label"]) for i in range(4)) == [0, 0, 1, 1]
    with pytest.raises(ConfigError, match="num_classes=3"):
        dm3 = geo_core.DATAMODULES.build(
            "GenericNonGeoClassificationDataModule", batch_size=2, train_data_root=tmp_path / "train", num_classes=3
        )
        dm3.setup("fit")


def test_csv_catalog(tmp_path: Path) -> None:
    _images(tmp_path / "img", ["a.tif", "b.tif", "c.tif"])
    (tmp_path / "train.csv").write_text("filename,label\nimg/a.tif,cloud\nimg/b.tif,clear\nimg/c.tif,cloud\n")
    dm = geo_core.DATAMODULES.build(
        "GenericNonGeoClassificationDataModule", batch_size=3, train_data_root=tmp_path / "train.csv", drop_last=False
    )
    dm.setup("fit")
    batch = next(iter(dm.train_dataloader()))
    assert dm.class_names == ["clear", "cloud"]
    assert sorted(batch["label"].tolist()) == [0, 1, 1]
    (tmp_path / "bad.csv").write_text("filename,label\nimg/missing.tif,cloud\n")
    with pytest.raises(InputDataError, match=r"missing.tif"):
        geo_core.DATAMODULES.build(
            "GenericNonGeoClassificationDataModule", batch_size=1, train_data_root=tmp_path / "bad.csv"
        ).setup("fit")


def test_multilabel(tmp_path: Path) -> None:
    _images(tmp_path, ["a.tif", "b.tif"])
    (tmp_path / "cols.csv").write_text("filename,urban,water\na.tif,1,0\nb.tif,1,1\n")
    (tmp_path / "names.csv").write_text("filename,labels\na.tif,urban\nb.tif,urban;water\n")
    dm = geo_core.DATAMODULES.build(
        "GenericNonGeoMultiLabelClassificationDataModule",
        batch_size=2,
        train_data_root=tmp_path / "cols.csv",
        label_columns=["urban", "water"],
    )
    dm.setup("fit")
    lab = torch.stack([dm.datasets["train"][i]["label"] for i in range(2)])
    assert lab.dtype == torch.float32 and lab.tolist() == [[1, 0], [1, 1]]
    dm = geo_core.DATAMODULES.build(
        "GenericNonGeoMultiLabelClassificationDataModule",
        batch_size=2,
        train_data_root=tmp_path / "names.csv",
        class_names=["urban", "water"],
    )
    dm.setup("fit")
    assert torch.stack([dm.datasets["train"][i]["label"] for i in range(2)]).tolist() == lab.tolist()


def test_scalar_regression(tmp_path: Path) -> None:
    _images(tmp_path, ["a.tif", "b.tif"])
    (tmp_path / "t.csv").write_text("filename,biomass,height\na.tif,1.5,3\nb.tif,2.5,4\n")
    dm = geo_core.DATAMODULES.build(
        "GenericNonGeoScalarRegressionDataModule",
        batch_size=2,
        train_data_root=tmp_path / "t.csv",
        target_columns=["biomass"],
    )
    dm.setup("fit")
    batch = next(iter(dm.train_dataloader()))
    assert batch["label"].shape == (2,) and sorted(batch["label"].tolist()) == [1.5, 2.5]
    dm = geo_core.DATAMODULES.build(
        "GenericNonGeoScalarRegressionDataModule",
        batch_size=2,
        train_data_root=tmp_path / "t.csv",
        target_columns=["biomass", "height"],
    )
    dm.setup("fit")
    assert dm.datasets["train"][0]["label"].shape == (2,)


def test_multimodal(tmp_path: Path) -> None:
    for k in ("a", "b", "c"):
        write_geotiff(tmp_path / "s2" / f"{k}_s2.tif", bands=4, height=8, width=8)
        write_geotiff(tmp_path / "lbl" / f"{k}.tif", np.ones((8, 8), np.uint8))
    for k in ("a", "b"):
        write_geotiff(tmp_path / "s1" / f"{k}_s1.tif", bands=2, height=8, width=8)
    kw = dict(
        batch_size=2,
        modalities=["S1", "S2"],
        train_data_root={"S1": tmp_path / "s1", "S2": tmp_path / "s2"},
        train_label_data_root=tmp_path / "lbl",
        image_grep={"S1": "*_s1.tif", "S2": "*_s2.tif"},
        label_grep="*.tif",
        means={"S1": [0, 0], "S2": [0.5] * 3},
        stds={"S1": [1, 1], "S2": [1] * 3},
        output_bands={"S2": [0, 1, 2]},
    )
    with pytest.raises(InputDataError, match=r"c lacks \['S1'\]"):
        geo_core.DATAMODULES.build("GenericMultiModalDataModule", **kw).setup("fit")
    dm = geo_core.DATAMODULES.build(
        "GenericMultiModalDataModule", allow_missing_modalities=True, train_transform=["hflip"], **kw
    )
    dm.setup("fit")
    s = dm.datasets["train"][2]
    assert s["image"]["S1"].shape == (2, 8, 8) and float(s["image"]["S1"].abs().sum()) == 0
    assert s["image"]["S2"].shape == (3, 8, 8) and s["mask"].shape == (8, 8)
    batch = next(iter(dm.train_dataloader()))
    assert batch["image"]["S2"].shape == (2, 3, 8, 8)
    dm = geo_core.DATAMODULES.build(
        "GenericMultiModalDataModule", allow_missing_modalities=True, concat_bands=True, **kw
    )
    dm.setup("fit")
    assert dm.datasets["train"][0]["image"].shape == (5, 8, 8)
