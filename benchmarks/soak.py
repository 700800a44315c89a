"""Soak: many short train + predict cycles in one process; memory and open files must not grow.

Each cycle trains a tiny segmentation task (tiny_cnn + UNetDecoder, GenericNonGeoSegmentationDataModule
on ``make_segmentation_folder`` data, 1 epoch of 2 batches, checkpoints and CSV logs on) through
``geo_core.runs.train`` (what ``geo train`` runs), predicts one 96 x 96 scene from the best
checkpoint with ``geo_core.runs.predict`` (what ``geo predict`` runs), then deletes the run
folder. After every cycle (and a ``gc.collect()``) it records the resident set size
(``VmRSS`` of /proc/self/status) and the number of open file descriptors (/proc/self/fd).

No growth means: after the warm-up cycles, the open descriptors of the last quarter never exceed
the first quarter's maximum, and the fitted RSS slope over the measured cycles adds less than
``--rss-budget-mib`` over the whole run. Writes benchmarks/results/soak.json and .md; exits 1 when
a trend is found. Not run in CI (minutes).

Usage: .venv/bin/python benchmarks/soak.py [--cycles 200] [--warmup 10]
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import shutil
import statistics
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def config(data: Path, run: Path) -> dict[str, Any]:
    return {
        "seed_everything": 0,
        "trainer": {
            "max_epochs": 1,
            "accelerator": "cpu",
            "devices": 1,
            "enable_progress_bar": False,
            "enable_model_summary": False,
            "default_root_dir": str(run),
            "num_sanity_val_steps": 0,
            "limit_train_batches": 2,
            "limit_val_batches": 1,
        },
        "model": {
            "class_path": "SemanticSegmentationTask",
            "init_args": {
                "model_factory": "EncoderDecoderFactory",
                "model_args": {"backbone": "tiny_cnn", "decoder": "UNetDecoder", "num_classes": 2},
                "loss": "ce",
                "lr": 0.01,
            },
        },
        "data": {
            "class_path": "GenericNonGeoSegmentationDataModule",
            "init_args": {
                "batch_size": 4,
                "num_classes": 2,
                "means": [0.5] * 6,
                "stds": [0.25] * 6,
                "train_data_root": str(data / "images"),
                "train_label_data_root": str(data / "labels"),
                "val_data_root": str(data / "images"),
                "val_label_data_root": str(data / "labels"),
                "img_grep": "*_img.tif",
                "label_grep": "*_mask.tif",
            },
        },
    }


def slope(ys: list[float]) -> float:
    """Least-squares slope per cycle."""
    n = len(ys)
    xm, ym = (n - 1) / 2, statistics.fmean(ys)
    den = sum((i - xm) ** 2 for i in range(n))
    return sum((i - xm) * (y - ym) for i, y in enumerate(ys)) / den if den else 0.0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cycles", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--rss-budget-mib", type=float, default=50.0)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    import lightning.pytorch  # noqa: F401  (sets its loggers' levels on import: quiet them afterwards)
    import torch
    from geo_core import runs
    from geo_core.testing import make_segmentation_folder, write_geotiff

    for name in ("lightning", "lightning.pytorch", "lightning.fabric"):
        logging.getLogger(name).setLevel(logging.ERROR)

    torch.set_num_threads(args.threads)
    work = Path(tempfile.mkdtemp(prefix="geo-soak-"))
    try:
        make_segmentation_folder(work / "data", n=8, size=32)
        scene = write_geotiff(work / "scene.tif", bands=6, height=96, width=96)
        rows = []
        t_start = time.perf_counter()
        for i in range(args.cycles):
            t0 = time.perf_counter()
            run = work / f"run{i}"
            cfg = config(work / "data", run)
            runs.train(cfg)
            runs.predict(cfg, ckpt="best", input=scene, output=work / "pred.tif", crop=32, stride=32)
            shutil.rmtree(run)
            gc.collect()
            rows.append(
                {
                    "cycle": i,
                    "rss_mib": round(rss_mib(), 1),
                    "open_fds": open_fds(),
                    "seconds": round(time.perf_counter() - t0, 2),
                }
            )
            if i % 10 == 0 or i == args.cycles - 1:
                print(rows[-1], flush=True)
        total = time.perf_counter() - t_start
    finally:
        shutil.rmtree(work, ignore_errors=True)

    measured = rows[args.warmup :]
    q = max(1, len(measured) // 4)
    rss = [r["rss_mib"] for r in measured]
    fds = [r["open_fds"] for r in measured]
    rss_slope = slope(rss)
    rss_growth = rss_slope * len(measured)
    fd_ok = max(fds[-q:]) <= max(fds[:q])
    rss_ok = rss_growth < args.rss_budget_mib
    result = {
        "cycles": args.cycles,
        "warmup_cycles": args.warmup,
        "threads": args.threads,
        "cycle": "train 1 epoch x 2 batches (4 x 6 x 32 x 32, tiny_cnn + UNetDecoder, checkpoints + CSV logs) "
        "+ predict one 96 x 96 scene from the best checkpoint",
        "total_seconds": round(total, 1),
        "median_cycle_seconds": statistics.median(r["seconds"] for r in rows),
        "rss_mib_first": rows[0]["rss_mib"],
        "rss_mib_after_warmup": rss[0],
        "rss_mib_last": rss[-1],
        "rss_mib_max": max(rss),
        "rss_slope_mib_per_cycle": round(rss_slope, 4),
        "rss_fitted_growth_mib": round(rss_growth, 2),
        "rss_budget_mib": args.rss_budget_mib,
        "open_fds_first_quarter_max": max(fds[:q]),
        "open_fds_last_quarter_max": max(fds[-q:]),
        "open_fds_min": min(fds),
        "open_fds_max": max(fds),
        "no_growth": fd_ok and rss_ok,
        "per_cycle": rows,
    }
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "soak.json").write_text(json.dumps(result, indent=2) + "\n")
    md = [
        "# Soak: train + predict cycles in one process",
        "",
        f"{args.cycles} cycles ({args.warmup} warm-up), {args.threads} threads, {result['total_seconds']} s in all, "
        f"median {result['median_cycle_seconds']} s per cycle. One cycle: {result['cycle']}.",
        "",
        "| measure | first (after warm-up) | last | max | trend |",
        "|---|---|---|---|---|",
        f"| RSS (MiB) | {rss[0]} | {rss[-1]} | {max(rss)} | {rss_slope:+.3f} MiB/cycle, fitted "
        f"{rss_growth:+.1f} MiB over the run (budget {args.rss_budget_mib}) |",
        f"| open file descriptors | {fds[0]} | {fds[-1]} | {max(fds)} | last-quarter max {max(fds[-q:])} vs "
        f"first-quarter max {max(fds[:q])} |",
        "",
        f"Result: {'no growth' if result['no_growth'] else 'GROWTH FOUND'}.",
        "",
        "Regenerate: `.venv/bin/python benchmarks/soak.py --cycles 200` (not part of CI).",
        "",
    ]
    (out / "soak.md").write_text("\n".join(md))
    print("\n".join(md))
    if not result["no_growth"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
