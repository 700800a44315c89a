"""Streaming large-scene prediction vs a whole-scene-in-memory tiled baseline, side by side.

Same scene, same model (3-layer 32-channel CNN, random weights), same windows (224 crops,
192 stride), same thread count. Each case runs in a fresh subprocess; peak RSS comes from
wait4's rusage, throughput (Mpx/s) covers reading the GeoTIFF, inference, blending and
writing the output GeoTIFF. Writes benchmarks/results/predict_stream.json and .md.

Usage: .venv/bin/python benchmarks/predict_stream.py [--sizes 2048,2896] [--baseline-max 4096]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

CHILD = r'''
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
task = SemanticSegmentationTask(model=CNN3()).eval()
t0 = time.perf_counter()
if mode == "stream":
    predict_scene(task, src, dst, None, PredictOptions(crop=224, stride=192, batch_size=8, compress="none"))
else:
    with rasterio.open(src) as s:
        x = torch.from_numpy(s.read().astype("float32"))[None]
        profile = s.profile
    with torch.inference_mode():
        probs = tiled_forward(lambda t: task(t).output.softmax(1), x, crop=224, stride=192, batch_size=8)
    pred = probs.argmax(1).to(torch.uint8).numpy()
    profile.update(count=1, dtype="uint8", nodata=None)
    with rasterio.open(dst, "w", **profile) as d:
        d.write(pred)
print(json.dumps({"seconds": time.perf_counter() - t0}))
'''


def make_scene(path: Path, size: int) -> None:
    import numpy as np
    import rasterio
    from rasterio.transform import from_origin

    rng = np.random.default_rng(0)
    profile = {"driver": "GTiff", "height": size, "width": size, "count": 6, "dtype": "float32",
               "crs": "EPSG:32616", "transform": from_origin(500000, 4200000, 10, 10), "tiled": True,
               "blockxsize": 256, "blockysize": 256}
    with rasterio.open(path, "w", **profile) as dst:
        for y in range(0, size, 1024):
            h = min(1024, size - y)
            dst.write(rng.random((6, h, size), dtype=np.float32),
                      window=rasterio.windows.Window(0, y, size, h))


def run(mode: str, src: Path, dst: Path, threads: int) -> dict[str, float]:
    cmd = [sys.executable, "-c", CHILD, mode, str(src), str(dst), str(threads)]
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
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--name", default="predict_stream", help="results file stem (predict_*)")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(dir=os.environ.get("GEO_BENCH_TMP")) as tmp:
        for size in [int(s) for s in args.sizes.split(",")]:
            src = Path(tmp) / f"scene{size}.tif"
            make_scene(src, size)
            for mode in ("stream", "in_memory"):
                if mode == "in_memory" and size > args.baseline_max:
                    continue
                best: dict[str, float] | None = None
                for _ in range(args.repeat):
                    r = run(mode, src, Path(tmp) / f"out_{mode}.tif", args.threads)
                    if best is None or r["seconds"] < best["seconds"]:
                        best = r
                assert best is not None
                mpx = size * size / 1e6
                rows.append({"mode": mode, "size": size, "megapixels": round(mpx, 2),
                             "seconds": round(best["seconds"], 2), "mpx_per_s": round(mpx / best["seconds"], 3),
                             "peak_rss_mib": round(best["peak_rss_mib"], 1)})
                print(rows[-1], flush=True)
            src.unlink()
    stream = [r for r in rows if r["mode"] == "stream"]
    growth = (stream[-1]["peak_rss_mib"] / stream[0]["peak_rss_mib"] - 1) if len(stream) > 1 else None
    result = {"machine": f"{os.cpu_count()} CPU, torch threads={args.threads}", "crop": 224, "stride": 192,
              "batch_size": 8, "model": "3-layer 32-channel CNN", "rows": rows,
              "stream_rss_growth_over_sizes": None if growth is None else round(growth, 4),
              "recorded": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / f"{args.name}.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = ["# Streaming prediction vs whole-scene in-memory tiled baseline", "",
             f"{result['machine']}; {result['model']}; crops 224 / stride 192; batch 8; float32 6-band GeoTIFF in, "
             "uint8 class GeoTIFF out. Each case in its own process.", "",
             "| mode | scene | Mpx | seconds | Mpx/s | peak RSS MiB |", "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['mode']} | {r['size']}² | {r['megapixels']} | {r['seconds']} | {r['mpx_per_s']} | "
                     f"{r['peak_rss_mib']} |")
    if growth is not None:
        lines += ["", f"Streaming peak RSS grows {growth:.1%} from the smallest to the largest scene."]
    (out / f"{args.name}.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
