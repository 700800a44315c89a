"""Many small scenes: 2 processes x 1 thread against 1 process x 2 threads, side by side.

The same 200 scenes (128², 6 bands, float32), the same model (the 3-layer 32-channel demo CNN
of ``predict_stream.py``, random weights, seeded), one 128-px window per scene, geo's other
defaults. The two-process side runs two ranks (``RANK``/``WORLD_SIZE``, as torchrun sets them)
sharing the scenes through the ledger; the one-process side runs every scene with two torch
threads. The model runs as ``geo predict`` runs it, without Lightning (importing Lightning cost
each process about 10 s of start-up under load). Wall time covers everything from launch to the
last process's exit (interpreter start, imports, reading, inference, writing, and the exit, which
ends as ``geo``'s entry point ends it: ``geo_core.cli._app.release_for_exit``); "loop" is the
scene loop alone (the slowest rank).
One unrecorded round of both cases first warms the page cache (scenes, the interpreter's and
torch's files), then interleaved runs; median and min-max; the 1-minute load average before
each run is recorded, because other work on the machine distorts parallel figures.

Usage: .venv/bin/python benchmarks/scale_out.py [--scenes 200] [--size 128] [--repeat 3]
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

CHILD = r"""
import sys, time, json
import torch
from torch import nn
torch.set_num_threads(int(sys.argv[3]))
from geo_core import Model, ModelOutput
from geo_core.runs._light import LightPredictor
from geo_core.inference import PredictOptions, predict_paths

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

task = LightPredictor(CNN3(), "segmentation").eval()  # as geo predict runs it: no Lightning import
t0 = time.perf_counter()
predict_paths(task, sys.argv[1], sys.argv[2], None, PredictOptions(crop=128, stride=128))
print(json.dumps({"loop": time.perf_counter() - t0}))
from geo_core.cli._app import release_for_exit
release_for_exit()  # as the geo entry point ends every command
"""


def make_scenes(folder: Path, n: int, size: int) -> None:
    import numpy as np
    import rasterio
    from rasterio.transform import from_origin

    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        with rasterio.open(
            folder / f"s{i:04d}.tif",
            "w",
            driver="GTiff",
            height=size,
            width=size,
            count=6,
            dtype="float32",
            crs="EPSG:32616",
            transform=from_origin(500000, 4200000, 10, 10),
        ) as d:
            d.write(rng.random((6, size, size), dtype=np.float32))


def run(procs: int, threads: int, scenes: Path, out: Path) -> dict[str, float]:
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "OMP_NUM_THREADS": str(threads)}
    t0 = time.perf_counter()
    children = []
    for rank in range(procs):
        e = {**env, "RANK": str(rank), "WORLD_SIZE": str(procs)} if procs > 1 else env
        children.append(
            subprocess.Popen(
                [sys.executable, "-c", CHILD, str(scenes), str(out), str(threads)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=e,
            )
        )
    loops = []
    for c in children:
        so, se = c.communicate()
        if c.returncode != 0:
            raise SystemExit(f"{procs}x{threads} failed:\n{se.decode()[-2000:]}")
        loops.append(json.loads(so.decode().strip().splitlines()[-1])["loop"])
    return {"wall": time.perf_counter() - t0, "loop": max(loops)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scenes", type=int, default=200)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    cases = {"2 processes x 1 thread": (2, 1), "1 process x 2 threads": (1, 2)}
    res: dict[str, list[dict[str, float]]] = {k: [] for k in cases}
    loads: list[float] = []
    with tempfile.TemporaryDirectory(dir=os.environ.get("GEO_BENCH_TMP")) as tmp:
        scenes = Path(tmp) / "scenes"
        make_scenes(scenes, args.scenes, args.size)
        for p, t in cases.values():  # warm-up round, not recorded
            run(p, t, scenes, Path(tmp) / f"warm-{p}x{t}")
        for r in range(args.repeat):  # interleaved: a noisy moment hits both sides alike
            for name, (p, t) in cases.items():
                loads.append(os.getloadavg()[0])
                res[name].append(run(p, t, scenes, Path(tmp) / f"out-{r}-{p}x{t}"))
                print(name, res[name][-1], f"load {loads[-1]:.2f}", flush=True)

    def stats(name: str, key: str) -> dict[str, float]:
        v = [x[key] for x in res[name]]
        return {"median": round(statistics.median(v), 2), "min": round(min(v), 2), "max": round(max(v), 2)}

    a, b = "2 processes x 1 thread", "1 process x 2 threads"
    result = {
        "machine": f"{os.cpu_count()} CPU",
        "scenes": args.scenes,
        "size": args.size,
        "repeat": args.repeat,
        "model": "3-layer 32-channel CNN, crop 128 / stride 128, geo defaults",
        "cases": {n: {"wall_s": stats(n, "wall"), "loop_s": stats(n, "loop")} for n in cases},
        "ratio_wall": round(stats(b, "wall")["median"] / stats(a, "wall")["median"], 3),
        "ratio_wall_per_round": [round(y["wall"] / x["wall"], 3) for x, y in zip(res[a], res[b], strict=True)],
        "command": "python benchmarks/scale_out.py " + " ".join(sys.argv[1:]),
        "ratio_loop": round(stats(b, "loop")["median"] / stats(a, "loop")["median"], 3),
        "load_average_1min": {"min": min(loads), "max": max(loads), "all": [round(x, 2) for x in loads]},
        "recorded": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "scale_out.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [
        "# Many scenes: 2 processes x 1 thread vs 1 process x 2 threads",
        "",
        f"{result['machine']}; {args.scenes} scenes of {args.size}² (6 bands, float32); {result['model']}; "
        f"median (min-max) of {args.repeat} interleaved runs. Load average (1 min) before the runs: "
        f"{min(loads):.2f}-{max(loads):.2f} on {os.cpu_count()} CPUs; one unrecorded warm-up round first.",
        "",
        "| case | wall s | scene loop s |",
        "|---|---|---|",
    ]
    for n in cases:
        w, lp = result["cases"][n]["wall_s"], result["cases"][n]["loop_s"]
        lines.append(f"| {n} | {w['median']} ({w['min']}-{w['max']}) | {lp['median']} ({lp['min']}-{lp['max']}) |")
    lines += [
        "",
        f"Speed-up of 2x1 over 1x2: {result['ratio_wall']}x wall (per-round min-max "
        f"{min(result['ratio_wall_per_round'])}-{max(result['ratio_wall_per_round'])}), "
        f"{result['ratio_loop']}x scene loop (target >= 1.3x).",
        "",
        f"Command: `{result['command']}`",
    ]
    (out / "scale_out.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
