"""Prediction engines side by side: ONNX Runtime vs eager torch (and TerraTorch's tiled_inference).

Same scene, same model, same windows (224 crops / 192 stride), same thread count, each case in a
fresh process (peak RSS from wait4), interleaved runs, median and min-max. Every figure covers
reading the GeoTIFF, inference, blending and writing the class-map GeoTIFF.

* ``torch``: geo's defaults (eager, channels-last, batch 16 shared out evenly over a strip's
  windows), run as ``geo predict`` runs it (without Lightning).
* ``onnxruntime``: ``engine="onnxruntime"``, the same streaming and batch; the one-off export (recorded as
  ``export_s``) happens before the clock starts, as it does once per run for any number of scenes.
* ``terratorch``: TerraTorch's ``tiled_inference`` (its defaults: batch 16, delta 8, blending) on
  the scene read whole, then argmax and a GeoTIFF write (``_tiled_ref.py``: its module file is
  loaded from a TerraTorch checkout, ``--terratorch``, default /work/ref/terratorch, with its
  package imports stubbed; nothing of it is copied here). Module imports happen before the clock
  on every side.

* ``forward-torch`` / ``forward-onnxruntime``: the engine's share alone. The engine's runner (as
  the stream opens it, heap kept, inference mode) runs random batches of the stream's batch shape;
  the time of 8 batches after a warm-up one is scaled to the scene's number of batches. No
  reading, normalising, blending or writing: this is the floor of each engine's whole run, so
  ``forward-onnxruntime`` against ``forward-torch`` bounds what ONNX Runtime can gain, and
  TerraTorch's whole run against the faster floor bounds geo's lead over it.

Models: ``demo`` (the 3-layer 32-channel CNN of predict_stream.py) and ``resnet18_unet``
(segmentation_models_pytorch ``Unet("resnet18")``, random weights). The 1-minute load average is
recorded before each run; scenes and outputs are deleted as soon as they are done with.

Usage: .venv/bin/python benchmarks/engines.py [--cases demo:2048,resnet18_unet:4096] [--repeat 3]
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
from typing import Any

HERE = Path(__file__).resolve().parent

CHILD = r"""
import sys, time, json
mode, model_name, src, dst, threads, ref, bench = sys.argv[1:8]
sys.path.insert(0, bench)
import numpy as np, torch, rasterio
from torch import nn
torch.set_num_threads(int(threads))
from geo_core import Model, ModelOutput
from geo_core.runs._light import LightPredictor
from geo_core.inference import PredictOptions, predict_scene

class CNN3(Model):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(nn.Conv2d(6, 32, 3, padding=1), nn.ReLU(),
                                     nn.Conv2d(32, 32, 3, padding=1), nn.ReLU())
        self.decoder = nn.Conv2d(32, 2, 3, padding=1)
        self.num_classes = 2
    def forward(self, x, **kw):
        return ModelOutput(self.decoder(self.encoder(x)))

class SmpUNet(Model):
    def __init__(self):
        super().__init__()
        import segmentation_models_pytorch as smp
        self.net = smp.Unet("resnet18", encoder_weights=None, in_channels=6, classes=2)
        self.num_classes = 2
    def forward(self, x, **kw):
        return ModelOutput(self.net(x))

torch.manual_seed(0)
task = LightPredictor(CNN3() if model_name == "demo" else SmpUNet(), "segmentation").eval()
from geo_core.inference import default_batch_size
from geo_core.inference._stream import even_batch
from geo_core.tasks._tiled import starts
with rasterio.open(src) as s:  # the batch the stream runs: a strip's windows shared out evenly
    per_strip, strips = (len(starts(max(n, 224), 224, 192)) for n in (s.width, s.height))
batch = even_batch(per_strip, default_batch_size(task, "cpu"))
export_s = 0.0
if mode == "onnxruntime":
    from geo_plugin_onnx._engine import onnx_session
    t = time.perf_counter()
    onnx_session(task, (batch, 6, 224, 224))
    export_s = time.perf_counter() - t
if mode == "terratorch":
    from _tiled_ref import load_tiled_inference, terratorch_predict
    ti = load_tiled_inference(ref)
t0 = time.perf_counter()
if mode.startswith("forward-"):
    from geo_core.inference._engines import open_engine
    from geo_core.inference._heap import retained_heap
    engine = mode.split("-", 1)[1]
    n_batches = strips * -(-per_strip // batch)
    x = torch.rand(batch, 6, 224, 224)  # values like the scene's
    opts = PredictOptions(crop=224, stride=192, engine=engine, batch_size=batch)  # as the stream passes it
    # the kind the stream blends for a class map: probabilities (the class map is taken per strip)
    with torch.inference_mode(), retained_heap():  # as predict_scene opens and runs an engine
        with open_engine(engine, task, "probabilities", opts, (6, 224, 224)) as run:
            run(x)  # the first batch settles the layout (channels-last trial) and the session
            k = min(n_batches, 8)
            t0 = time.perf_counter()
            for _ in range(k):
                run(x)
            t0 -= (time.perf_counter() - t0) * (n_batches / k - 1)  # scaled to the scene's batches
elif mode in ("torch", "onnxruntime"):
    predict_scene(task, src, dst, None, PredictOptions(crop=224, stride=192, compress="none", engine=mode))
else:
    terratorch_predict(ti, lambda t: task(t).output, src, dst)
import resource
print(json.dumps({"seconds": time.perf_counter() - t0, "export_s": export_s,
                  "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
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


def run(mode: str, model: str, src: Path, dst: Path, threads: int, ref: str) -> dict[str, float]:
    cmd = [sys.executable, "-c", CHILD, mode, model, str(src), str(dst), str(threads), ref, str(HERE)]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    load = os.getloadavg()[0]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    out, err = proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"{mode} {model} failed:\n{err.decode()[-3000:]}")
    r = json.loads(out.decode().strip().splitlines()[-1])
    return {**r, "load": load}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", default="demo:2048,resnet18_unet:4096", help="model:size,...")
    ap.add_argument("--modes", default="torch,onnxruntime,terratorch,forward-torch,forward-onnxruntime")
    ap.add_argument("--terratorch-models", default="resnet18_unet", help="models also run through tiled_inference")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--terratorch", default="/work/ref/terratorch")
    ap.add_argument("--name", default="engines")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(dir=os.environ.get("GEO_BENCH_TMP")) as tmp:
        for case in args.cases.split(","):
            model, size = case.split(":")[0], int(case.split(":")[1])
            src = Path(tmp) / f"scene{size}.tif"
            make_scene(src, size)
            modes = [
                m for m in args.modes.split(",") if m != "terratorch" or model in args.terratorch_models.split(",")
            ]
            runs: dict[str, list[dict[str, float]]] = {m: [] for m in modes}
            for _ in range(args.repeat):  # interleaved
                for m in modes:
                    out = Path(tmp) / f"out_{m}.tif"
                    runs[m].append(run(m, model, src, out, args.threads, args.terratorch))
                    out.unlink(missing_ok=True)
                    print(model, size, m, runs[m][-1], flush=True)
            src.unlink()  # 4096² float32 scenes are 400 MB: one on disk at a time
            for m in modes:
                secs = [r["seconds"] for r in runs[m]]
                mpx = size * size / 1e6
                rows.append(
                    {
                        "model": model,
                        "size": size,
                        "mode": m,
                        "seconds_median": round(statistics.median(secs), 2),
                        "seconds_all": [round(x, 2) for x in secs],
                        "seconds_min": round(min(secs), 2),
                        "seconds_max": round(max(secs), 2),
                        "peak_rss_mib": round(max(r["peak_rss_mib"] for r in runs[m]), 1),
                        "mpx_per_s": round(mpx / statistics.median(secs), 3),
                        "export_s": round(statistics.median(r["export_s"] for r in runs[m]), 2),
                        "load_1min": [round(r["load"], 2) for r in runs[m]],
                    }
                )
    ratios = {}

    def ratio(key: str, slow: dict[str, Any], fast: dict[str, Any]) -> None:
        per_round = [a / b for a, b in zip(slow["seconds_all"], fast["seconds_all"], strict=True)]
        ratios[key] = {
            "median": round(slow["seconds_median"] / fast["seconds_median"], 3),
            "min": round(min(per_round), 3),
            "max": round(max(per_round), 3),
        }

    for model, size in dict.fromkeys((r["model"], r["size"]) for r in rows):
        by = {r["mode"]: r for r in rows if r["model"] == model and r["size"] == size}
        case = f"{model} {size}²"
        if "torch" in by and "onnxruntime" in by:
            ratio(f"{case} onnxruntime vs torch", by["torch"], by["onnxruntime"])
        if "forward-torch" in by and "forward-onnxruntime" in by:
            ratio(f"{case} forward pass alone, onnxruntime vs torch", by["forward-torch"], by["forward-onnxruntime"])
        if "terratorch" in by and "torch" in by:
            ratio(f"{case} geo defaults (torch) vs terratorch tiled_inference", by["terratorch"], by["torch"])
        floors = [by[m] for m in ("forward-torch", "forward-onnxruntime") if m in by]
        if "terratorch" in by and floors:
            fastest = min(floors, key=lambda r: r["seconds_median"])
            ratio(
                f"{case} terratorch's whole run vs geo's forward passes alone ({fastest['mode']}): "
                "the most geo can lead by",
                by["terratorch"],
                fastest,
            )
    result = {
        "machine": f"{os.cpu_count()} CPU, torch/ORT threads={args.threads}",
        "crop": 224,
        "stride": 192,
        "repeat": args.repeat,
        "rows": rows,
        "speedups": ratios,
        "command": "python benchmarks/engines.py " + " ".join(sys.argv[1:]),
        "recorded": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / f"{args.name}.json").write_text(json.dumps(result, indent=2) + "\n")
    loads = [x for r in rows for x in r["load_1min"]]
    lines = [
        "# Prediction engines: ONNX Runtime vs eager torch (and TerraTorch's tiled_inference)",
        "",
        f"{result['machine']}; crops 224 / stride 192; float32 6-band GeoTIFF in, uint8 class map out; each "
        f"case in its own process; median (min-max) of {args.repeat} interleaved runs. Load average (1 min) "
        f"before the runs: {min(loads):.2f}-{max(loads):.2f} on {os.cpu_count()} CPUs "
        "(mostly the benchmark's own threads).",
        "",
        "| model | scene | engine | seconds | Mpx/s | peak RSS MiB | one-off export s |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['model']} | {r['size']}² | {r['mode']} | {r['seconds_median']} ({r['seconds_min']}-"
            f"{r['seconds_max']}) | {r['mpx_per_s']} | {r['peak_rss_mib']} | {r['export_s'] or ''} |"
        )
    lines += [""] + [f"- {k}: {v['median']}x (per-round min-max {v['min']}-{v['max']})" for k, v in ratios.items()]
    lines += ["", f"Command: `{result['command']}`"]
    (out / f"{args.name}.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
