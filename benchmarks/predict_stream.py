"""Streaming large-scene prediction vs TerraTorch's ``tiled_inference``, side by side.

Same scene, same model (3-layer 32-channel CNN, random weights, run as ``geo predict`` runs it:
without Lightning), same windows (224 crops, 192 stride), same thread count. Each case runs in
a fresh subprocess; peak RSS comes from wait4's rusage, throughput (Mpx/s) covers reading the
GeoTIFF, inference, blending and writing the uint8 class-map GeoTIFF.

* ``geo_b16_nchw``: geo's streaming predictor at TerraTorch's settings (batch 16, NCHW);
* ``geo_default``: geo's defaults (the batch from the model's size, channels-last);
* ``terratorch``: TerraTorch's ``tiled_inference`` (its defaults: batch 16, NCHW, delta 8, reflect
  padding, blending) on the scene read whole, then argmax and a GeoTIFF write. The module file
  is loaded from a checkout outside this repository (``--terratorch``; ``_tiled_ref.py``).

Records the median and min-max of the interleaved runs and the load average before and after
(other processes on the machine slow the cases unevenly: read the ratios with it). The scenes
are deleted at the end.

Usage: .venv/bin/python benchmarks/predict_stream.py [--sizes 2048,4096] [--baseline-max 4096] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
MODES = ("geo_b16_nchw", "geo_default", "terratorch")

CHILD = r"""
import sys, time, json
mode, src, dst, threads, ref, bench = sys.argv[1:7]
sys.path.insert(0, bench)
import torch
from torch import nn
torch.set_num_threads(int(threads))
from geo_core import Model, ModelOutput
from geo_core.runs._light import LightPredictor
from geo_core.inference import PredictOptions, predict_scene

class CNN3(Model):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.encoder = nn.Sequential(nn.Conv2d(6, 32, 3, padding=1), nn.ReLU(),
                                     nn.Conv2d(32, 32, 3, padding=1), nn.ReLU())
        self.decoder = nn.Conv2d(32, 2, 3, padding=1)
        self.num_classes = 2
    def forward(self, x, **kw):
        return ModelOutput(self.decoder(self.encoder(x)))

task = LightPredictor(CNN3(), "segmentation").eval()
import rasterio  # imports stay outside the clock on both sides
if mode == "terratorch":
    from _tiled_ref import load_tiled_inference, terratorch_predict
    ti = load_tiled_inference(ref)
t0 = time.perf_counter()
if mode == "geo_default":
    predict_scene(task, src, dst, None, PredictOptions(crop=224, stride=192, compress="none"))
elif mode == "geo_b16_nchw":
    predict_scene(task, src, dst, None, PredictOptions(crop=224, stride=192, batch_size=16, compress="none",
                                                      channels_last=False))
else:
    terratorch_predict(ti, lambda t: task(t).output, src, dst)
print(json.dumps({"seconds": time.perf_counter() - t0}))
"""


def make_scene(path: Path, size: int) -> None:
    import numpy as np
    import rasterio
    from rasterio.transform import from_origin

    rng = np.random.default_rng(0)
    profile = {
        "driver": "GTiff",
        "height": size,
        "width": size,
        "count": 6,
        "dtype": "float32",
        "crs": "EPSG:32616",
        "transform": from_origin(500000, 4200000, 10, 10),
        "tiled": True,
        "blockxsize": 256,
        "blockysize": 256,
    }
    with rasterio.open(path, "w", **profile) as dst:
        for y in range(0, size, 1024):
            h = min(1024, size - y)
            dst.write(rng.random((6, h, size), dtype=np.float32), window=rasterio.windows.Window(0, y, size, h))


def run(mode: str, src: Path, dst: Path, threads: int, ref: str) -> dict[str, float]:
    cmd = [sys.executable, "-c", CHILD, mode, str(src), str(dst), str(threads), ref, str(HERE)]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    out = proc.stdout.read().decode() if proc.stdout else ""
    err = proc.stderr.read().decode() if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{mode} failed:\n{err[-2000:]}")
    secs = json.loads(out.strip().splitlines()[-1])["seconds"]
    return {"seconds": secs, "peak_rss_mib": usage.ru_maxrss / 1024}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="2048,4096", help="square scene sizes")
    ap.add_argument("--baseline-max", type=int, default=4096, help="skip TerraTorch above this size")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--terratorch", default="/work/ref/terratorch", help="TerraTorch checkout (outside the repo)")
    ap.add_argument("--name", default="predict_stream", help="results file stem (predict_*)")
    args = ap.parse_args()
    rows = []
    loads: list[float] = []
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(dir=os.environ.get("GEO_BENCH_TMP")) as tmp:
        for size in [int(s) for s in args.sizes.split(",")]:
            src = Path(tmp) / f"scene{size}.tif"
            make_scene(src, size)
            modes = [m for m in MODES if not (m == "terratorch" and size > args.baseline_max)]
            runs: dict[str, list[dict[str, float]]] = {m: [] for m in modes}
            for _ in range(args.repeat):  # interleaved, so a noisy moment hits every mode alike
                for mode in modes:
                    loads.append(os.getloadavg()[0])
                    out = Path(tmp) / f"out_{mode}.tif"
                    runs[mode].append(run(mode, src, out, args.threads, args.terratorch))
                    out.unlink(missing_ok=True)
                    print(size, mode, runs[mode][-1], f"load {loads[-1]:.2f}", flush=True)
            for mode in modes:
                secs = [r["seconds"] for r in runs[mode]]
                mpx = size * size / 1e6
                rows.append(
                    {
                        "mode": mode,
                        "size": size,
                        "megapixels": round(mpx, 2),
                        "seconds": round(statistics.median(secs), 2),
                        "seconds_all": [round(x, 2) for x in secs],
                        "mpx_per_s": round(mpx / statistics.median(secs), 3),
                        "mpx_per_s_min_max": [round(mpx / max(secs), 3), round(mpx / min(secs), 3)],
                        "peak_rss_mib": round(max(r["peak_rss_mib"] for r in runs[mode]), 1),
                    }
                )
                print(rows[-1], flush=True)
            src.unlink()
    load_after = os.getloadavg()
    ratios = {}
    for r in rows:
        if r["mode"] == "terratorch":
            continue
        b = [q for q in rows if q["mode"] == "terratorch" and q["size"] == r["size"]]
        if b:
            fast, slow = r["seconds_all"], b[0]["seconds_all"]
            ratios[f"{r['size']} {r['mode']}/terratorch"] = {
                "median": round(b[0]["seconds"] / r["seconds"], 3),
                # per interleaved round: TerraTorch's time over geo's in the same round
                "min": round(min(t / g for t, g in zip(slow, fast, strict=True)), 3),
                "max": round(max(t / g for t, g in zip(slow, fast, strict=True)), 3),
            }
    default = [r for r in rows if r["mode"] == "geo_default"]
    growth = (default[-1]["peak_rss_mib"] / default[0]["peak_rss_mib"] - 1) if len(default) > 1 else None
    result = {
        "machine": f"{os.cpu_count()} CPU, torch threads={args.threads}",
        "crop": 224,
        "stride": 192,
        "model": "3-layer 32-channel CNN (12 k parameters)",
        "rows": rows,
        "geo_default_rss_growth_over_sizes": None if growth is None else round(growth, 4),
        "speedups_over_terratorch": ratios,
        "repeat": args.repeat,
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in load_after],
        "loadavg_1min_per_run": {"min": round(min(loads), 2), "max": round(max(loads), 2)},
        "command": "python benchmarks/predict_stream.py " + " ".join(sys.argv[1:]),
        "recorded": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / f"{args.name}.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [
        "# Streaming prediction vs TerraTorch's tiled_inference",
        "",
        f"{result['machine']}; {result['model']}; crops 224 / stride 192; float32 6-band GeoTIFF in, "
        "uint8 class GeoTIFF out, both sides reading and writing the GeoTIFF. Each case in its own process; "
        f"median of {args.repeat} interleaved runs (min-max in brackets); load average "
        f"{result['loadavg_before']} before, {result['loadavg_after']} after (1, 5, 15 min); 1-min load "
        f"before each run {result['loadavg_1min_per_run']['min']}-{result['loadavg_1min_per_run']['max']}. "
        "geo_b16_nchw = geo's streaming predictor at TerraTorch's settings (batch 16, NCHW); "
        "geo_default = geo's defaults; terratorch = TerraTorch's tiled_inference (batch 16, NCHW, delta 8) "
        "on the scene read whole.",
        "",
        f"Command: `{result['command']}`",
        "",
        "| mode | scene | Mpx | seconds | Mpx/s (min-max) | peak RSS MiB |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['mode']} | {r['size']}² | {r['megapixels']} | {r['seconds']} | {r['mpx_per_s']} "
            f"({r['mpx_per_s_min_max'][0]}-{r['mpx_per_s_min_max'][1]}) | {r['peak_rss_mib']} |"
        )
    if ratios:
        lines += [""] + [
            f"- speed-up {k}: {v['median']}x (per-round min-max {v['min']}-{v['max']})" for k, v in ratios.items()
        ]
    if growth is not None:
        lines += ["", f"geo_default peak RSS grows {growth:.1%} from the smallest to the largest scene."]
    (out / f"{args.name}.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
