"""Streaming large-scene prediction vs a whole-scene-in-memory tiled baseline, side by side.

Same scene, same model (3-layer 32-channel CNN, random weights), same windows (224 crops,
192 stride), same thread count. Each case runs in a fresh subprocess; peak RSS comes from
wait4's rusage, throughput (Mpx/s) covers reading the GeoTIFF, inference, blending and
writing the output GeoTIFF. Writes benchmarks/results/predict_stream.json and .md.

Records the median and min-max of the interleaved runs and the load average before and after
(other processes on the machine slow the cases unevenly: read the ratios with it).

Usage: .venv/bin/python benchmarks/predict_stream.py [--sizes 2048,2896] [--baseline-max 4096] [--repeat 3]
       [--batch 16]
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
#: stream: geo, the baselines' batch (--batch) (channels-last); stream_nchw: the same with channels_last=False;
#: stream_default: geo's defaults (batch 1 on CPU, channels-last);
#: in_memory: whole scene read, TerraTorch-style tiled forward in the default layout;
#: in_memory_cl: the same baseline given the channels-last layout too.
MODES = ("stream", "stream_nchw", "stream_default", "in_memory", "in_memory_cl")

CHILD = r"""
import sys, time, json
import numpy as np, torch, rasterio
from torch import nn
torch.set_num_threads(int(sys.argv[4]))
from geo_core import Model, ModelOutput
from geo_core.tasks import SemanticSegmentationTask, tiled_forward
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

mode, src, dst = sys.argv[1:4]
batch = int(sys.argv[5])
task = SemanticSegmentationTask(model=CNN3()).eval()
t0 = time.perf_counter()
if mode == "stream_default":  # geo's defaults (one window per pass on CPU, channels-last)
    predict_scene(task, src, dst, None, PredictOptions(crop=224, stride=192, compress="none"))
elif mode.startswith("stream"):
    predict_scene(task, src, dst, None, PredictOptions(crop=224, stride=192, batch_size=batch, compress="none",
                                                      channels_last=mode == "stream"))
else:
    if mode == "in_memory_cl":  # the baseline given the same channels-last layout as the streamer
        task = task.to(memory_format=torch.channels_last)
    with rasterio.open(src) as s:
        x = torch.from_numpy(s.read().astype("float32"))[None]
        profile = s.profile
    with torch.inference_mode():
        fmt = torch.channels_last if mode == "in_memory_cl" else torch.contiguous_format
        probs = tiled_forward(lambda t: task(t.contiguous(memory_format=fmt)).output.softmax(1), x, crop=224,
                              stride=192, batch_size=batch)
    pred = probs.argmax(1).to(torch.uint8).numpy()
    profile.update(count=1, dtype="uint8", nodata=None)
    with rasterio.open(dst, "w", **profile) as d:
        d.write(pred)
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


def run(mode: str, src: Path, dst: Path, threads: int, batch: int) -> dict[str, float]:
    cmd = [sys.executable, "-c", CHILD, mode, str(src), str(dst), str(threads), str(batch)]
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
    ap.add_argument("--sizes", default="2048,2896", help="square scene sizes (the second doubles the area)")
    ap.add_argument("--baseline-max", type=int, default=4096, help="skip the in-memory baseline above this size")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--batch", type=int, default=8, help="windows per batch (stream, stream_nchw, baselines)")
    ap.add_argument("--name", default="predict_stream", help="results file stem (predict_*)")
    args = ap.parse_args()
    rows = []
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(dir=os.environ.get("GEO_BENCH_TMP")) as tmp:
        for size in [int(s) for s in args.sizes.split(",")]:
            src = Path(tmp) / f"scene{size}.tif"
            make_scene(src, size)
            modes = [m for m in MODES if not (m.startswith("in_memory") and size > args.baseline_max)]
            runs: dict[str, list[dict[str, float]]] = {m: [] for m in modes}
            for _ in range(args.repeat):  # interleaved, so a noisy moment hits every mode alike
                for mode in modes:
                    runs[mode].append(run(mode, src, Path(tmp) / f"out_{mode}.tif", args.threads, args.batch))
            for mode in modes:
                secs = statistics.median(r["seconds"] for r in runs[mode])
                mpx = size * size / 1e6
                rows.append(
                    {
                        "mode": mode,
                        "size": size,
                        "megapixels": round(mpx, 2),
                        "seconds": round(secs, 2),
                        "seconds_all": [round(r["seconds"], 2) for r in runs[mode]],
                        "mpx_per_s": round(mpx / secs, 3),
                        "mpx_per_s_min_max": [
                            round(mpx / max(r["seconds"] for r in runs[mode]), 3),
                            round(mpx / min(r["seconds"] for r in runs[mode]), 3),
                        ],
                        "peak_rss_mib": round(max(r["peak_rss_mib"] for r in runs[mode]), 1),
                    }
                )
                print(rows[-1], flush=True)
            src.unlink()
    load_after = os.getloadavg()
    stream = [r for r in rows if r["mode"] == "stream"]
    ratios = {}
    for r in rows:
        pairs = {
            "stream": ("in_memory", "in_memory_cl"),
            "stream_default": ("in_memory",),
            "stream_nchw": ("in_memory",),
        }.get(r["mode"], ())
        for base in pairs:
            b = [q for q in rows if q["mode"] == base and q["size"] == r["size"]]
            if b:
                ratios[f"{r['size']} {r['mode']}/{base}"] = round(r["mpx_per_s"] / b[0]["mpx_per_s"], 3)
    growth = (stream[-1]["peak_rss_mib"] / stream[0]["peak_rss_mib"] - 1) if len(stream) > 1 else None
    result = {
        "machine": f"{os.cpu_count()} CPU, torch threads={args.threads}",
        "crop": 224,
        "stride": 192,
        "batch_size": args.batch,
        "model": "3-layer 32-channel CNN",
        "rows": rows,
        "stream_rss_growth_over_sizes": None if growth is None else round(growth, 4),
        "throughput_ratios": ratios,
        "repeat": args.repeat,
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in load_after],
        "recorded": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / f"{args.name}.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [
        "# Streaming prediction vs whole-scene in-memory tiled baseline",
        "",
        f"{result['machine']}; {result['model']}; crops 224 / stride 192; batch {args.batch}; float32 6-band "
        "GeoTIFF in, "
        "uint8 class GeoTIFF out. Each case in its own process; median of "
        f"{args.repeat} interleaved runs (min-max in brackets); load average {result['loadavg_before']} before, "
        f"{result['loadavg_after']} after (1, 5, 15 min). stream = geo, batch {args.batch} (channels-last); "
        "stream_nchw = the same "
        "with channels_last=False; stream_default = geo's defaults (batch 1 on CPU); in_memory = whole "
        "scene + tiled forward (TerraTorch-style); in_memory_cl = that with channels-last.",
        "",
        "| mode | scene | Mpx | seconds | Mpx/s (min-max) | peak RSS MiB |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['mode']} | {r['size']}² | {r['megapixels']} | {r['seconds']} | {r['mpx_per_s']} "
            f"({r['mpx_per_s_min_max'][0]}-{r['mpx_per_s_min_max'][1]}) | "
            f"{r['peak_rss_mib']} |"
        )
    if ratios:
        lines += [""] + [f"- throughput {k}: {v}x" for k, v in ratios.items()]
    if growth is not None:
        lines += ["", f"Streaming peak RSS grows {growth:.1%} from the smallest to the largest scene."]
    (out / f"{args.name}.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
