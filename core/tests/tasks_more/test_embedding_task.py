"""EmbeddingGenerationTask: vectors and grids on disk with the inputs' georeferencing, resumable."""

from __future__ import annotations

import json

import numpy as np
import pytest
import rasterio
import torch
from geo_core import ConfigError
from geo_core.embeddings._pooling import pool_features, token_grid
from geo_core.tasks._embedding import EmbeddingGenerationTask


def test_token_grid_inference():
    assert token_grid(1 + 4 * 6, (32, 48)) == (True, 1, 4, 6)
    assert token_grid(2 * 4 * 6, (32, 48), frames=2) == (False, 2, 4, 6)
    with pytest.raises(ValueError, match="cannot arrange"):
        token_grid(11, (32, 48))


def test_pooling_modes_on_tokens_and_maps():
    tokens = torch.arange(2 * 5 * 3, dtype=torch.float32).reshape(2, 5, 3)  # cls + 2x2 grid
    assert torch.equal(pool_features(tokens, "cls", (16, 16)), tokens[:, 0])
    assert torch.allclose(pool_features(tokens, "mean", (16, 16)), tokens[:, 1:].mean(1))
    grid = pool_features(tokens, "none", (16, 16))
    assert grid.shape == (2, 3, 2, 2)
    assert torch.equal(grid[0, :, 0, 1], tokens[0, 2])  # row-major patch order
    maps = torch.randn(2, 4, 3, 5)
    assert torch.equal(pool_features(maps, "max", (6, 10)), maps.amax(dim=(2, 3)))
    with pytest.raises(ValueError, match="needs a token backbone"):
        pool_features(maps, "cls", (6, 10))


def test_parquet_rows_with_footprint_and_resume(tifs, tmp_path, trainer, loader):
    import pyarrow.parquet as pq

    out = tmp_path / "emb"
    task = EmbeddingGenerationTask(
        backbone="tiny_vit",
        backbone_args={"in_channels": 6, "img_size": 32},
        pooling="cls",
        output_dir=str(out),
        output_format="parquet",
    )
    trainer().predict(task, loader(tifs), return_predictions=False)
    files = sorted(out.glob("*.parquet"))
    assert [f.name for f in files] == ["chip0_embedding.parquet", "chip1_embedding.parquet", "chip2_embedding.parquet"]
    table = pq.read_table(files[1])
    assert table.num_rows == 1 and table.column("filename")[0].as_py() == tifs[1]
    assert len(table.column("embedding")[0].as_py()) == 32
    geo = json.loads(table.schema.metadata[b"geo"])
    with rasterio.open(tifs[1]) as src:
        assert geo["columns"]["geometry"]["bbox"] == list(src.bounds)
    assert task.counts == {"written": 3, "skipped": 0}
    # resume: the second run skips complete files and recomputes a removed one
    files[0].unlink()
    task2 = EmbeddingGenerationTask(
        backbone="tiny_vit",
        backbone_args={"in_channels": 6, "img_size": 32},
        pooling="cls",
        output_dir=str(out),
        output_format="parquet",
    )
    trainer().predict(task2, loader(tifs), return_predictions=False)
    assert task2.counts == {"written": 1, "skipped": 2}


def test_geotiff_grid_keeps_georeferencing(tifs, tmp_path, trainer, loader):
    out = tmp_path / "grid"
    task = EmbeddingGenerationTask(
        backbone="tiny_vit",
        backbone_args={"in_channels": 6, "img_size": 32},
        layers=[1, 3],
        pooling="none",
        output_dir=str(out),
        output_format="tiff",
    )
    trainer().predict(task, loader(tifs), return_predictions=False)
    with rasterio.open(tifs[2]) as src, rasterio.open(out / "chip2_embedding.tif") as emb:
        assert emb.count == 64 and (emb.height, emb.width) == (4, 6)  # 32x48 input / patch 8
        assert emb.crs == src.crs
        assert emb.bounds == pytest.approx(src.bounds)
        assert emb.descriptions[0] == "emb_0"
        assert np.isfinite(emb.read()).all()


def test_multitemporal_cnn_and_vector_geotiff(tifs, tmp_path, trainer, loader):
    out = tmp_path / "cnn"
    task = EmbeddingGenerationTask(
        backbone="tiny_cnn", backbone_args={"in_channels": 6}, pooling="mean", output_dir=str(out)
    )
    trainer().predict(task, loader(tifs[:1]), return_predictions=False)
    with rasterio.open(out / "chip0_embedding.tif") as emb:
        assert (emb.count, emb.height, emb.width) == (64, 1, 1)


class TemporalTokens(torch.nn.Module):
    """(B, C, T, H, W) -> (B, T*h*w, D) tokens, frame-major, like a tubelet-1 ViT."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = torch.nn.Conv3d(6, 5, kernel_size=(1, 8, 8), stride=(1, 8, 8))
        self.out_channels = [5]

    def forward(self, x):
        return [self.embed(x).flatten(2).transpose(1, 2)]


def test_multitemporal_tokens_become_frame_major_grid(tifs, tmp_path, trainer, loader):
    task = EmbeddingGenerationTask(backbone=TemporalTokens(), pooling="none", output_dir=str(tmp_path / "mt"))
    x = torch.randn(2, 6, 3, 32, 48)
    grid = task(x)
    assert grid.shape == (2, 15, 4, 6)
    direct = task.backbone.embed(x)  # B, D, T, h, w
    assert torch.allclose(grid[:, 5:10], direct[:, :, 1])  # frame 1 occupies bands D..2D
    trainer().predict(task, loader(tifs[:2], frames=3), return_predictions=False)
    with rasterio.open(tmp_path / "mt" / "chip1_embedding.tif") as emb:
        assert emb.count == 15


def test_bad_options_are_config_errors():
    with pytest.raises(ConfigError, match="pooling"):
        EmbeddingGenerationTask(backbone="tiny_cnn", pooling="avg")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="grid per input"):
        EmbeddingGenerationTask(backbone="tiny_cnn", pooling="none", output_format="parquet")
    with pytest.raises(ConfigError, match="out of range"):
        EmbeddingGenerationTask(backbone="tiny_cnn", layers=[9])
