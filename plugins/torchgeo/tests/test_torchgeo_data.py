"""torchgeo datamodules on tiny synthetic copies of their layouts, and GeoDataset sampling."""

from __future__ import annotations

import geo_core
import numpy as np
import pytest
import torch
from geo_core.testing import write_geotiff

pytestmark = [
    # torchgeo.datamodules imports kornia/timm modules that emit deprecation warnings on import.
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    # rasterio's from_origin (used by write_geotiff and by torchgeo) multiplies Affines with `*`, which
    # affine >= 3.1 deprecates; nothing to change on our side.
    pytest.mark.filterwarnings("ignore:Use `@` matmul instead of `\\*` mul operator:PendingDeprecationWarning"),
    # Lightning 2.x flattens loaders with torch's LeafSpec, which torch 2.14 deprecates (inside Lightning).
    pytest.mark.filterwarnings("ignore:`isinstance\\(treespec, LeafSpec\\)` is deprecated:FutureWarning"),
]

EUROSAT_DIR = ("ds", "images", "remote_sensing", "otherDatasets", "sentinel_2", "tif")


def _fake_eurosat(root) -> None:
    """EuroSAT's layout: class folders of 13-band GeoTIFFs and eurosat-{split}.txt lists."""
    base = root.joinpath(*EUROSAT_DIR)
    names: list[str] = []
    for c, cls in enumerate(("AnnualCrop", "Forest", "River")):
        for i in range(4):
            fn = f"{cls}_{i}.tif"
            write_geotiff(base / cls / fn, bands=13, height=16, width=16, dtype="uint16", seed=10 * c + i)
            names.append(fn)
    for split, part in (("train", names[0::2]), ("val", names[1::4]), ("test", names[3::4])):
        (root / f"eurosat-{split}.txt").write_text("".join(n.replace(".tif", ".jpg") + "\n" for n in part))


def test_eurosat_datamodule_on_synthetic_layout(tmp_path) -> None:
    _fake_eurosat(tmp_path)
    dm = geo_core.DATAMODULES.build("torchgeo:EuroSATDataModule", root=tmp_path, batch_size=4)
    dm.setup("fit")
    assert len(dm.train_dataset) == 6 and len(dm.val_dataset) == 3
    batch = next(iter(dm.train_dataloader()))
    batch = dm.on_after_batch_transfer(batch, 0)
    assert batch["image"].shape == (4, 13, 16, 16) and batch["image"].dtype == torch.float32
    assert batch["label"].shape == (4,) and int(batch["label"].max()) < 3


def test_missing_data_is_not_downloaded(tmp_path) -> None:
    from torchgeo.datasets import DatasetNotFoundError

    dm = geo_core.DATAMODULES.build("torchgeo:EuroSATDataModule", root=tmp_path / "nothing")
    with pytest.raises(DatasetNotFoundError):
        dm.setup("fit")


def _scenes(tmp_path, n: int = 2) -> tuple:
    images, masks = tmp_path / "images", tmp_path / "masks"
    for i in range(n):
        origin = (500000.0 + i * 64 * 30.0, 4200000.0)
        write_geotiff(images / f"scene_{i}.tif", bands=6, height=64, width=64, origin=origin, seed=i)
        labels = (np.random.default_rng(i).random((64, 64)) > 0.5).astype("uint8")
        write_geotiff(masks / f"scene_{i}.tif", labels, dtype="uint8", origin=origin)
    return images, masks


def test_grid_sampler_batches_have_geo_shape(tmp_path) -> None:
    images, masks = _scenes(tmp_path)
    dm = geo_core.DATAMODULES.build(
        "torchgeo:GeoSamplerDataModule",
        image_paths=images,
        mask_paths=masks,
        patch_size=32,
        batch_size=4,
        train_sampler="grid",
    )
    dm.setup("fit")
    batches = list(dm.train_dataloader())
    assert sum(b["image"].shape[0] for b in batches) == 8  # 2 scenes x 2 x 2 patches
    b = batches[0]
    assert set(b) == {"image", "mask"}
    assert b["image"].shape == (4, 6, 32, 32) and b["image"].dtype == torch.float32
    assert b["mask"].shape == (4, 32, 32) and b["mask"].dtype == torch.long


def test_geodataset_trains_a_segmentation_task(tmp_path) -> None:
    import lightning.pytorch as pl
    from geo_core.tasks import SemanticSegmentationTask

    images, masks = _scenes(tmp_path)
    dm = geo_core.DATAMODULES.build(
        "torchgeo:GeoSamplerDataModule",
        image_paths=images,
        mask_paths=masks,
        patch_size=32,
        batch_size=4,
        train_sampler="random",
        length=8,
    )
    task = SemanticSegmentationTask(
        model_factory="EncoderDecoderFactory",
        model_args={
            "backbone": "torchgeo:ResNet18_Weights.LANDSAT_ETM_SR_MOCO",
            "backbone_pretrained": False,
            "decoder": "FCNDecoder",
            "num_classes": 2,
        },
    )
    trainer = pl.Trainer(
        max_steps=3,
        limit_val_batches=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=tmp_path,
        accelerator="cpu",
    )
    before = [p.detach().clone() for p in task.parameters()]
    trainer.fit(task, datamodule=dm)
    assert trainer.global_step == 3
    assert any(not torch.equal(a, b) for a, b in zip(before, task.parameters(), strict=True))


def test_geo_sampler_datamodule_conforms(tmp_path) -> None:
    from geo_core.testing import check_datamodule

    images, masks = _scenes(tmp_path)
    dm = geo_core.DATAMODULES.build(
        "torchgeo:GeoSamplerDataModule", image_paths=images, mask_paths=masks, patch_size=32, batch_size=2
    )
    check_datamodule(dm, stages=("fit",), bands=6, target="mask")
