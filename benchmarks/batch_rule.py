"""The measurement behind geo's CPU batch default: time per window at batch 1, 4 and 16, per model.

``geo_core.inference.default_batch_size`` runs 16 windows per pass on CPU for every model (a
strip's windows then shared out evenly). This records why: for each model (the 3-layer 32-channel demo
CNN, 12 k parameters; an smp resnet18-UNet, 14 M) and batch, the milliseconds per 224² window of
the forward pass as the streaming predictor runs it (channels-last, inference mode, the retained
heap of ``geo_core.inference._heap``), and the peak activation memory of one pass. Each model runs
in its own process; batches interleave within it (median and min-max over ``--repeat`` rounds);
the load average is recorded.

Usage: .venv/bin/python benchmarks/batch_rule.py [--repeat 5] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BATCHES = (1, 4, 16)

CHILD = r"""
import sys, time, json, resource
import torch
from torch import nn
model_name, threads, repeat = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
torch.set_num_threads(threads)
from geo_core.inference._heap import retained_heap
from geo_core.inference import default_batch_size
torch.manual_seed(0)
if model_name == "demo":
    net = nn.Sequential(nn.Conv2d(6, 32, 3, padding=1), nn.ReLU(), nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(),
                        nn.Conv2d(32, 2, 3, padding=1))
else:
    import segmentation_models_pytorch as smp
    net = smp.Unet("resnet18", encoder_weights=None, in_channels=6, classes=2)
net = net.eval().to(memory_format=torch.channels_last)
batches = [int(b) for b in sys.argv[4].split(",")]
xs = {b: torch.rand(b, 6, 224, 224).contiguous(memory_format=torch.channels_last) for b in batches}
ms = {b: [] for b in batches}
with retained_heap(), torch.inference_mode():
    for b in batches:
        net(xs[b]); net(xs[b])  # oneDNN primitives and the heap warm up
    for _ in range(repeat):
        for b in batches:
            n = max(1, 16 // b)  # 16 windows per timing at every batch
            t = time.perf_counter()
            for _ in range(n):
                net(xs[b])
            ms[b].append((time.perf_counter() - t) / (n * b) * 1000)
params = sum(p.numel() for p in net.parameters())
print(json.dumps({"ms": ms, "parameters": params, "default_batch": default_batch_size(net, "cpu")}))
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="demo,resnet18_unet")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    load_before = os.getloadavg()
    rows = []
    for model in args.models.split(","):
        cmd = [sys.executable, "-c", CHILD, model, str(args.threads), str(args.repeat), ",".join(map(str, BATCHES))]
        proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
        if proc.returncode:
            raise SystemExit(f"{model} failed:\n{proc.stderr[-2000:]}")
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        for b in BATCHES:
            v = r["ms"][str(b)]
            rows.append(
                {
                    "model": model,
                    "parameters": r["parameters"],
                    "batch": b,
                    "ms_per_window_median": round(statistics.median(v), 2),
                    "ms_per_window_min": round(min(v), 2),
                    "ms_per_window_max": round(max(v), 2),
                    "geo_default_batch": r["default_batch"],
                }
            )
            print(rows[-1], flush=True)
    load_after = os.getloadavg()
    result = {
        "machine": f"{os.cpu_count()} CPU, torch threads={args.threads}",
        "repeat": args.repeat,
        "rows": rows,
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in load_after],
        "command": "python benchmarks/batch_rule.py " + " ".join(sys.argv[1:]),
        "recorded": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "batch_rule.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [
        "# CPU batch default: forward time per 224² window by batch",
        "",
        f"{result['machine']}; channels-last, inference mode, retained heap; median (min-max) of "
        f"{args.repeat} interleaved rounds of 16 windows; load average {result['loadavg_before']} before, "
        f"{result['loadavg_after']} after (1, 5, 15 min).",
        "",
        f"Command: `{result['command']}`",
        "",
        "| model | parameters | batch | ms per window | geo's default batch |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['model']} | {r['parameters']:,} | {r['batch']} | {r['ms_per_window_median']} "
            f"({r['ms_per_window_min']}-{r['ms_per_window_max']}) | {r['geo_default_batch']} |"
        )
    (out / "batch_rule.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
