"""Start-up of ``geo predict`` and ``geo embed`` before their first window, next to ``import torch``, in one run.

Target (issue 24): the first window runs within 1.5x a bare ``import torch``. Each case runs in a
fresh process; the parent notes the time before spawning it and the child reports when the first
window batch enters the model (``geo predict``: the first ``WindowRunner`` call; ``geo embed``: the
first module forward inside ``embed_scenes``), so interpreter start, imports, config, model build
and checkpoint loading all count. Cases, interleaved:

- ``import torch``: ``python -c "import torch"``;
- ``geo predict``: the CLI on a geo checkpoint (no Lightning: :mod:`geo_core.runs._light`);
- ``predict task path``: ``runs.predict`` given a composed ``RunConfig``, which builds the Lightning
  task and the datamodule as every ``geo predict`` did before;
- ``geo embed``: the CLI, ``EmbeddingGenerationTask`` over a backbone name with ``--input``
  (no Lightning either);
- ``geo embed, data section``: the same with a ``data:`` section (the datasets plugin's
  segmentation datamodule choosing 3 of 6 bands by name, with means and stds), whose
  preprocessing the datamodule's manifest declares (no Lightning either);
- ``embed task path``: ``runs.run_embedding`` given a ``RunConfig`` (the Lightning task).

Children run with bytecode caching on (``PYTHONDONTWRITEBYTECODE`` removed), as an installed
package does; the warm-up round writes the caches. Records the median, min and max of each case
and the load average before and after (other processes on the machine slow every case alike, but
not evenly). Writes benchmarks/results/predict_startup.json and .md.

Usage: .venv/bin/python benchmarks/predict_startup.py [--repeat 5] [--out benchmarks/results]
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
import geo_core.inference._embed_scenes as e
T = {}
call = r.WindowRunner.__call__
def first(self, batch):
    T.setdefault("first", time.time() - t_spawn)
    return call(self, batch)
r.WindowRunner.__call__ = first
embed = e.embed_scenes
def embed_first(*args, **kwargs):  # the first module forward inside embed_scenes is the first window
    from torch.nn.modules.module import register_module_forward_pre_hook
    handle = None
    def hook(module, inputs):
        T.setdefault("first", time.time() - t_spawn)
        handle.remove()
    handle = register_module_forward_pre_hook(hook)
    return embed(*args, **kwargs)
e.embed_scenes = embed_first
from geo_core import runs
if mode in ("cli", "embed_cli"):
    from geo_core.cli._app import main
    cmd = "predict" if mode == "cli" else "embed"
    sys.argv = ["geo", cmd, "-c", cfg, "--input", src, "--output", dst]
    sys.argv += ["--ckpt", "last", "--no-progress"] if mode == "cli" else []
    try:
        main()
    except SystemExit as exc:
        if exc.code:
            raise
elif mode == "task":
    runs.predict(runs.load_config(cfg), ckpt="last", input=src, output=dst)
else:
    runs.run_embedding(runs.load_config(cfg), input=src, output=dst)
print(T["first"], "lightning" in sys.modules)
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


def _embed_config(root: Path) -> dict:
    return {
        "trainer": {"accelerator": "cpu", "devices": 1, "logger": False, "default_root_dir": str(root / "emb_run")},
        "model": {
            "class_path": "EmbeddingGenerationTask",
            "init_args": {"backbone": "tiny_cnn", "backbone_args": {"in_channels": 6}, "output_format": "parquet"},
        },
    }


def _embed_data_config(root: Path) -> dict:
    cfg = _embed_config(root)
    cfg["model"]["init_args"]["backbone_args"] = {"in_channels": 3}
    cfg["data"] = {
        "class_path": "GenericNonGeoSegmentationDataModule",
        "init_args": {
            "batch_size": 1,
            "train_data_root": str(root / "emb_train"),
            "dataset_bands": ["BLUE", "GREEN", "RED", "NIR_NARROW", "SWIR_1", "SWIR_2"],
            "output_bands": ["NIR_NARROW", "RED", "GREEN"],
            "means": [0.5, 0.4, 0.3],
            "stds": [0.2, 0.3, 0.25],
        },
    }
    return cfg


def _once(mode: str, cfg: Path, src: Path, dst: Path) -> tuple[float, bool]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONWARNINGS"] = "ignore"
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
    ap.add_argument("--out", type=Path, default=HERE / "results", help="folder of the result files")
    args = ap.parse_args()
    import yaml
    from geo_core import runs
    from geo_core.testing import write_geotiff

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        cfg = root / "seg.yaml"
        cfg.write_text(yaml.safe_dump(_config(root)))
        runs.train(cfg)
        emb_cfg = root / "emb.yaml"
        emb_cfg.write_text(yaml.safe_dump(_embed_config(root)))
        emb_data_cfg = root / "emb_data.yaml"
        emb_data_cfg.write_text(yaml.safe_dump(_embed_data_config(root)))
        src = write_geotiff(root / "scene.tif", bands=6, height=256, width=256)
        cases = {
            "import torch": ("torch", cfg),
            "geo predict": ("cli", cfg),
            "predict task path": ("task", cfg),
            "geo embed": ("embed_cli", emb_cfg),
            "geo embed, data section": ("embed_cli", emb_data_cfg),
            "embed task path": ("embed_task", emb_cfg),
        }

        def out(case: str, mode: str, tag: str) -> Path:  # embeddings go to a fresh folder: a done scene is skipped
            stem = "".join(ch if ch.isalnum() else "_" for ch in case) + tag
            return root / (stem if mode.startswith("embed") else f"{stem}.tif")

        load_before = os.getloadavg()
        for name, (mode, c) in cases.items():  # warm the page cache and the bytecode caches
            _once(mode, c, src, out(name, mode, "_warm"))
        times: dict[str, list[float]] = {n: [] for n in cases}
        lightning: dict[str, bool] = {}
        for i in range(args.repeat):  # interleaved, so a busy moment hits every case
            for name, (mode, c) in cases.items():
                secs, lit = _once(mode, c, src, out(name, mode, str(i)))
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
        "target": "geo predict and geo embed first window <= 1.5x import torch",
        "recorded": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    dest = args.out
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "predict_startup.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [
        "# `geo predict` and `geo embed`: seconds from process spawn to the first window",
        "",
        f"{os.cpu_count()} CPUs; tiny_cnn + UNetDecoder checkpoint (predict), tiny_cnn backbone to GeoParquet "
        f"(embed), 256² 6-band scene; median (min-max) of "
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
    (dest / "predict_startup.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
