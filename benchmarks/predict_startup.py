"""Start-up of ``geo predict`` before its first window, next to ``python -c "import torch"``, in one run.

Target (issue 24): the first window runs within 1.5x a bare ``import torch``. Each case runs in a
fresh process; the parent notes the time before spawning it and the child reports when the first
window batch enters the model (the first ``WindowRunner`` call), so interpreter start, imports,
config, model build and checkpoint loading all count. Cases, interleaved:

- ``import torch``: ``python -c "import torch"``;
- ``geo predict``: the CLI on a geo checkpoint (no Lightning: :mod:`geo_core.runs._light`);
- ``task path``: ``runs.predict`` given a composed ``RunConfig``, which builds the Lightning task and
  the datamodule as every ``geo predict`` did before.

Records the median, min and max of each and the load average before and after (other processes
on the machine slow every case alike, but not evenly). Writes
benchmarks/results/predict_startup.json and .md.

Usage: .venv/bin/python benchmarks/predict_startup.py [--repeat 5]
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
import sys, time
t_spawn, mode, cfg, src, dst = float(sys.argv[1]), *sys.argv[2:6]
if mode == "torch":
    import torch
    print(time.time() - t_spawn)
    raise SystemExit
import geo_core.inference._runner as r
call = r.WindowRunner.__call__
def first(self, batch):
    if not hasattr(r, "_t_first"):
        r._t_first = time.time() - t_spawn
    return call(self, batch)
r.WindowRunner.__call__ = first
if mode == "cli":
    from geo_core.cli._app import main
    sys.argv = ["geo", "predict", "-c", cfg, "--ckpt", "last", "--input", src, "--output", dst, "--no-progress"]
    try:
        main()
    except SystemExit as e:
        if e.code:
            raise
else:
    from geo_core import runs
    runs.predict(runs.load_config(cfg), ckpt="last", input=src, output=dst)
print(r._t_first, "lightning" in sys.modules)
"""


def _config(root: Path) -> dict:
    return {
        "trainer": {
            "max_epochs": 1,
            "accelerator": "cpu",
            "devices": 1,
            "enable_progress_bar": False,
            "enable_model_summary": False,
            "default_root_dir": str(root / "run"),
            "logger": False,
            "num_sanity_val_steps": 0,
            "limit_train_batches": 1,
            "limit_val_batches": 1,
        },
        "model": {
            "class_path": "SemanticSegmentationTask",
            "init_args": {
                "model_factory": "EncoderDecoderFactory",
                "model_args": {"backbone": "tiny_cnn", "decoder": "UNetDecoder", "num_classes": 2},
            },
        },
        "data": {
            "class_path": "geo_core.testing._datamodules.TinyGeoDataModule",
            "init_args": {"num_samples": 4, "size": 32, "batch_size": 4},
        },
    }


def _once(mode: str, cfg: Path, src: Path, dst: Path) -> tuple[float, bool]:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    t = time.time()
    res = subprocess.run(
        [sys.executable, "-c", CHILD, repr(t), mode, str(cfg), str(src), str(dst)],
        capture_output=True,
        text=True,
        env=env,
    )
    if res.returncode != 0:
        raise SystemExit(f"{mode} failed:\n{res.stderr[-2000:]}")
    parts = res.stdout.strip().splitlines()[-1].split()  # the CLI prints the output path first
    return float(parts[0]), len(parts) > 1 and parts[1] == "True"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    import yaml
    from geo_core import runs
    from geo_core.testing import write_geotiff

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        cfg = root / "seg.yaml"
        cfg.write_text(yaml.safe_dump(_config(root)))
        runs.train(cfg)
        src = write_geotiff(root / "scene.tif", bands=6, height=256, width=256)
        cases = {"import torch": "torch", "geo predict": "cli", "task path": "task"}
        load_before = os.getloadavg()
        for mode in cases.values():  # warm the page cache
            _once(mode, cfg, src, root / f"warm_{mode}.tif")
        times: dict[str, list[float]] = {n: [] for n in cases}
        lightning: dict[str, bool] = {}
        for i in range(args.repeat):  # interleaved, so a busy moment hits every case
            for name, mode in cases.items():
                secs, lit = _once(mode, cfg, src, root / f"{mode}{i}.tif")
                times[name].append(secs)
                lightning[name] = lit
        load_after = os.getloadavg()
    torch_med = statistics.median(times["import torch"])
    rows = [
        {
            "case": n,
            "median_s": round(statistics.median(v), 2),
            "min_s": round(min(v), 2),
            "max_s": round(max(v), 2),
            "x_import_torch": round(statistics.median(v) / torch_med, 2),
            "imports_lightning": lightning[n],
        }
        for n, v in times.items()
    ]
    result = {
        "repeat": args.repeat,
        "cpu_count": os.cpu_count(),
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in load_after],
        "rows": rows,
        "target": "geo predict first window <= 1.5x import torch",
        "recorded": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "predict_startup.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [
        "# `geo predict`: seconds from process spawn to the first window",
        "",
        f"{os.cpu_count()} CPUs; tiny_cnn + UNetDecoder checkpoint, 256² 6-band scene; median (min-max) of "
        f"{args.repeat} interleaved runs; load average {result['loadavg_before']} before, "
        f"{result['loadavg_after']} after (1, 5, 15 min).",
        "",
        "| case | median s | min-max s | x import torch | imports lightning |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['case']} | {r['median_s']} | {r['min_s']}-{r['max_s']} | {r['x_import_torch']} | "
            f"{'yes' if r['imports_lightning'] else 'no'} |"
        )
    (out / "predict_startup.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
