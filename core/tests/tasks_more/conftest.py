from __future__ import annotations

from typing import Any

import pytest
import torch
from torch.utils.data import DataLoader, Dataset


class FileDataset(Dataset[dict[str, Any]]):
    """Reads GeoTIFFs written by the test; yields image + filename."""

    def __init__(self, paths: list[str], frames: int = 0) -> None:
        self.paths = paths
        self.frames = frames

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> dict[str, Any]:
        import rasterio

        with rasterio.open(self.paths[i]) as src:
            img = torch.from_numpy(src.read().astype("float32"))
        if self.frames:
            img = img.unsqueeze(1).repeat(1, self.frames, 1, 1)
        return {"image": img, "filename": self.paths[i]}


def _trainer(**kw: Any):
    import lightning.pytorch as pl

    base = dict(
        max_epochs=1,
        accelerator="cpu",
        devices=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    base.update(kw)
    return pl.Trainer(**base)


@pytest.fixture
def tifs(tmp_path):
    from geo_core.testing import write_geotiff

    paths = [
        str(
            write_geotiff(
                tmp_path / "in" / f"chip{i}.tif",
                bands=6,
                height=32,
                width=48,
                seed=i,
                origin=(500000.0 + 1000 * i, 4200000.0),
            )
        )
        for i in range(3)
    ]
    return paths


def _loader(paths: list[str], frames: int = 0, batch_size: int = 2) -> DataLoader[dict[str, Any]]:
    return DataLoader(FileDataset(paths, frames), batch_size=batch_size)


@pytest.fixture
def trainer():
    return _trainer


@pytest.fixture
def loader():
    return _loader
