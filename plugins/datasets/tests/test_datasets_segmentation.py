from pathlib import Path
from typing import Any

import geo_core
import numpy as np
import pytest
import torch
from geo_core import ConfigError, InputDataError
from geo_core.testing import make_segmentation_folder, write_geotiff

# rasterio's from_origin/window transforms use `Affine * Affine`, which affine>=3.1 flags as pending
# deprecation; third-party code we cannot change.
pytestmark = pytest.mark.filterwarnings("ignore:Use `@` matmul instead of `\\*` mul operator:PendingDeprecationWarning")

BANDS = ["BLUE", "GREEN", "RED", "NIR", "SWIR_1", "SWIR_2"]


def _dm(root: Path, **kw: Any) -> Any:
    args: dict[str, Any] = dict(
        batch_size=4,
        train_data_root=root / "images",
        train_label_data_root=root / "labels",
        val_data_root=root / "images",
        val_label_data_root=root / "labels",
        img_grep="*_img.tif",
        label_grep="*_mask.tif",
        num_classes=2,
    )
    args.update(kw)
    return geo_core.DATAMODULES.build("GenericNonGeoSegmentationDataModule", **args)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    make_segmentation_folder(tmp_path, n=6, size=16)
    return tmp_path


def test_registered_under_terratorch_names() -> None:
    names = set(geo_core.DATAMODULES.names(source="datasets"))
    for n in (
        "GenericNonGeoSegmentationDataModule",
        "GenericNonGeoPixelwiseRegressionDataModule",
        "GenericNonGeoClassificationDataModule",
        "GenericNonGeoMultiLabelClassificationDataModule",
        "GenericNonGeoScalarRegressionDataModule",
        "GenericMultiModalDataModule",
    ):
        assert f"datasets:{n}" in names


def test_plugin_metadata() -> None:
    from geo_core.testing import check_plugin_metadata

    check_plugin_metadata("datasets")


def test_batches(folder: Path) -> None:
    dm = _dm(folder, means=[0.5] * 6, stds=[0.25] * 6, dataset_bands=BANDS)
    dm.setup("fit")
    batch = next(iter(dm.train_dataloader()))
    assert batch["image"].shape == (4, 6, 16, 16) and batch["image"].dtype == torch.float32
    assert batch["mask"].shape == (4, 16, 16) and batch["mask"].dtype == torch.long
    assert len(batch["filename"]) == 4
    # normalisation: uniform [0, 1) data -> roughly [-2, 2)
    assert -2.01 <= float(batch["image"].min()) and float(batch["image"].max()) < 2.01
    # image and mask stay paired: mask is class 1 where raw band 0 >= 0.5
    val = next(iter(dm.val_dataloader()))
    assert torch.equal(val["mask"], (val["image"][:, 0] >= 0).long())


def test_band_selection_by_name_and_index(folder: Path) -> None:
    import rasterio

    first = sorted((folder / "images").glob("*.tif"))[0]
    raw = rasterio.open(first).read()
    for out in (["NIR", "BLUE"], [3, 0]):
        dm = _dm(folder, dataset_bands=BANDS, output_bands=out)
        dm.setup("validate")
        sample = dm.datasets["val"][0]
        np.testing.assert_allclose(sample["image"].numpy(), raw[[3, 0]])
    pre = _dm(
        folder, dataset_bands=BANDS, output_bands=["NIR", "BLUE"], means=[0, 0], stds=[1, 2], constant_scale=0.5
    ).scene_preprocessing()
    assert pre.bands == [4, 1] and pre.stds == [1.0, 2.0] and pre.constant_scale == 0.5
    assert pre.band_names == ["NIR", "BLUE"]  # STAC inputs pick their assets by these


def test_unknown_band_is_an_error_with_suggestion(folder: Path) -> None:
    dm = _dm(folder, dataset_bands=BANDS, output_bands=["NIRR"])
    with pytest.raises(ConfigError, match="did you mean 'NIR'"):
        dm.setup("fit")


def test_band_count_mismatch(folder: Path) -> None:
    with pytest.raises(InputDataError, match="dataset_bands names 3"):
        _dm(folder, dataset_bands=BANDS[:3]).setup("fit")


def test_means_length_checked(folder: Path) -> None:
    with pytest.raises(ConfigError, match="one value per output band"):
        _dm(folder, means=[0.0] * 3, stds=[1.0] * 3).setup("fit")


def test_nodata_replacement(tmp_path: Path) -> None:
    img = np.ones((2, 8, 8), np.float32)
    img[0, 0, 0] = np.nan
    img[1, 1, 1] = -9999
    mask = np.ones((8, 8), np.uint8)
    mask[2, 2] = 255
    mask[3, 3] = 0
    write_geotiff(tmp_path / "i" / "a.tif", img, nodata=-9999)
    write_geotiff(tmp_path / "l" / "a.tif", mask, nodata=255)
    dm = geo_core.DATAMODULES.build(
        "GenericNonGeoSegmentationDataModule",
        batch_size=1,
        train_data_root=tmp_path / "i",
        train_label_data_root=tmp_path / "l",
        no_data_replace=0,
        no_label_replace=-1,
        reduce_zero_label=True,
    )
    dm.setup("fit")
    s = dm.datasets["train"][0]
    assert s["image"][0, 0, 0] == 0 and s["image"][1, 1, 1] == 0 and s["image"][0, 5, 5] == 1
    assert s["mask"][2, 2] == -1 and s["mask"][3, 3] == -1 and s["mask"][0, 0] == 0


def test_stats_file_normalisation(folder: Path, tmp_path: Path) -> None:
    from geo_plugin_datasets._stats import write_stats

    stats = write_stats({"bands": BANDS, "means": [1, 2, 3, 4, 5, 6], "stds": [1, 1, 1, 1, 1, 2]}, tmp_path / "s.json")
    dm = _dm(folder, dataset_bands=BANDS, output_bands=["SWIR_2"], stats_file=str(stats))
    assert dm.scene_preprocessing().means == [6.0]
    dm.setup("fit")
    raw_max = float(dm.datasets["train"][0]["image"].max())
    assert raw_max < (1 - 6) / 2 + 0.01  # (x - 6) / 2 with x < 1


def test_multitemporal_stacking(tmp_path: Path) -> None:
    t, c = 3, 2
    data = np.stack([np.full((8, 8), 10 * ti + ci, np.float32) for ti in range(t) for ci in range(c)])
    write_geotiff(tmp_path / "i" / "a.tif", data)
    write_geotiff(tmp_path / "l" / "a.tif", np.zeros((8, 8), np.uint8))
    dm = geo_core.DATAMODULES.build(
        "GenericNonGeoSegmentationDataModule",
        batch_size=1,
        train_data_root=tmp_path / "i",
        train_label_data_root=tmp_path / "l",
        dataset_bands=["A", "B"],
        output_bands=["B"],
        expand_temporal_dimension=True,
    )
    dm.setup("fit")
    img = dm.datasets["train"][0]["image"]
    assert img.shape == (1, 3, 8, 8)
    assert img[0, :, 0, 0].tolist() == [1.0, 11.0, 21.0]


def test_grid_and_random_chips(tmp_path: Path) -> None:
    write_geotiff(tmp_path / "i" / "big.tif", bands=2, height=40, width=30, tiled=False)
    write_geotiff(tmp_path / "l" / "big.tif", np.zeros((40, 30), np.uint8))
    common = dict(
        batch_size=2,
        train_data_root=tmp_path / "i",
        train_label_data_root=tmp_path / "l",
        val_data_root=tmp_path / "i",
        val_label_data_root=tmp_path / "l",
        chip_size=16,
    )
    dm = geo_core.DATAMODULES.build("GenericNonGeoSegmentationDataModule", **common)
    dm.setup("fit")
    assert len(dm.datasets["train"]) == 3 * 2  # rows 0,16,24 x cols 0,14
    assert {tuple(dm.datasets["train"][i]["image"].shape) for i in range(6)} == {(2, 16, 16)}
    dm = geo_core.DATAMODULES.build(
        "GenericNonGeoSegmentationDataModule", chip_sampler="random", chips_per_scene=5, **common
    )
    dm.setup("fit")
    assert len(dm.datasets["train"]) == 5 and len(dm.datasets["val"]) == 6
    torch.manual_seed(0)
    a, b = dm.datasets["train"][0]["image"], dm.datasets["train"][0]["image"]
    assert a.shape == (2, 16, 16) and not torch.equal(a, b)


def test_shape_check_fails_loudly(tmp_path: Path) -> None:
    for i, size in enumerate((8, 8, 12)):
        write_geotiff(tmp_path / "i" / f"t{i}.tif", bands=2, height=size, width=size)
        write_geotiff(tmp_path / "l" / f"t{i}.tif", np.zeros((size, size), np.uint8))
    kw = dict(train_data_root=tmp_path / "i", train_label_data_root=tmp_path / "l")
    with pytest.raises(InputDataError, match=r"differ in shape.*chip_size"):
        geo_core.DATAMODULES.build("GenericNonGeoSegmentationDataModule", batch_size=2, **kw).setup("fit")
    write_geotiff(tmp_path / "l" / "t2.tif", np.zeros((8, 8), np.uint8))
    with pytest.raises(InputDataError, match=r"t2.tif.*image and label must cover the same pixels"):
        geo_core.DATAMODULES.build("GenericNonGeoSegmentationDataModule", batch_size=1, **kw).setup("fit")


def test_collate_error_names_files(tmp_path: Path) -> None:
    from geo_plugin_datasets._base import collate

    with pytest.raises(InputDataError, match=r"a.tif.*b.tif"):
        collate(
            [{"image": torch.zeros(1, 2, 2), "filename": "a.tif"}, {"image": torch.zeros(1, 3, 3), "filename": "b.tif"}]
        )


def test_corrupt_file_is_named(folder: Path) -> None:
    bad = folder / "images" / "tile002_img.tif"
    bad.write_bytes(b"II*\x00garbage")
    dm = _dm(folder, shape_check_samples=1)
    dm.setup("fit")
    with pytest.raises(InputDataError, match=r"tile002_img.tif"):
        for i in range(len(dm.datasets["train"])):
            dm.datasets["train"][i]


def test_png_and_npy(tmp_path: Path) -> None:
    from PIL import Image

    (tmp_path / "i").mkdir()
    (tmp_path / "l").mkdir()
    rgb = np.random.default_rng(0).integers(0, 255, (8, 8, 3)).astype(np.uint8)
    Image.fromarray(rgb).save(tmp_path / "i" / "a.png")
    np.save(tmp_path / "l" / "a.npy", np.ones((8, 8), np.int64))
    dm = geo_core.DATAMODULES.build(
        "GenericNonGeoSegmentationDataModule",
        batch_size=1,
        train_data_root=tmp_path / "i",
        train_label_data_root=tmp_path / "l",
        constant_scale=1 / 255,
    )
    dm.setup("fit")
    s = dm.datasets["train"][0]
    np.testing.assert_allclose(s["image"].numpy(), rgb.transpose(2, 0, 1) / 255, rtol=1e-6)
    assert s["mask"].sum() == 64


def test_geometric_transforms_move_image_and_mask_together(folder: Path) -> None:
    from torchvision.transforms import v2

    specs: list[Any] = [
        ["hflip", "d4", "rot90"],
        [{"class_path": "albumentations.VerticalFlip", "init_args": {"p": 1.0}}],
        [v2.RandomHorizontalFlip(p=1.0), v2.RandomVerticalFlip(p=1.0)],
    ]
    for spec in specs:
        dm = _dm(folder, train_transform=spec)
        dm.setup("fit")
        torch.manual_seed(1)
        for i in range(3):
            s = dm.datasets["train"][i]
            assert torch.equal(s["mask"], (s["image"][0] >= 0.5).long())


def test_kornia_transform(folder: Path) -> None:
    kornia_aug = pytest.importorskip("kornia.augmentation")
    dm = _dm(folder, train_transform=[kornia_aug.RandomHorizontalFlip(p=1.0)])
    dm.setup("fit")
    s = dm.datasets["train"][0]
    assert torch.equal(s["mask"], (s["image"][0] >= 0.5).long())


def test_albumentations_object_rejected_with_fix() -> None:
    from geo_plugin_datasets._transforms import build_transform

    with pytest.raises(ConfigError, match="unknown transform"):
        build_transform(["Blur"])


def test_worker_processes_open_files_lazily(folder: Path) -> None:
    dm = _dm(folder, num_workers=1)
    dm.setup("fit")
    import pickle

    # the dataset holds paths only: it pickles (no open handle to cross a fork)
    assert len(pickle.dumps(dm.datasets["train"])) < 20_000
    batches = list(dm.val_dataloader())
    assert sum(len(b["filename"]) for b in batches) == 6


def test_pixelwise_regression(tmp_path: Path) -> None:
    write_geotiff(tmp_path / "i" / "a_img.tif", bands=3, height=8, width=8)
    target = np.random.default_rng(1).random((8, 8)).astype(np.float32)
    target[0, 0] = -1
    write_geotiff(tmp_path / "i" / "a_target.tif", target, nodata=-1)
    dm = geo_core.DATAMODULES.build(
        "GenericNonGeoPixelwiseRegressionDataModule",
        batch_size=1,
        train_data_root=tmp_path / "i",
        img_grep="*_img.tif",
        label_grep="*_target.tif",
        no_label_replace=-1,
    )
    dm.setup("fit")
    s = dm.datasets["train"][0]
    assert s["mask"].dtype == torch.float32 and s["mask"][0, 0] == -1
    assert torch.allclose(s["mask"][1:], torch.from_numpy(target[1:]))
    assert "a_target" not in s["filename"]
