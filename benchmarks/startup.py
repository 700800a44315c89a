"""Start-up cost of the ``geo`` CLI next to ``python -c "import torch"``, side by side in one run.

Target (shared/TARGETS.md): ``geo --help`` <= 0.15 x ``import torch`` and never imports torch.
Writes benchmarks/results/startup.json and startup.md.

Usage: .venv/bin/python benchmarks/startup.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent


def run_once(argv: list[str]) -> tuple[float, float]:
    """Run a command; return (wall seconds, peak RSS MiB) from wait4's rusage."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    t0 = time.perf_counter()
    pid = os.posix_spawn(
        argv[0],
        argv,
        dict(os.environ),
        file_actions=[(os.POSIX_SPAWN_DUP2, devnull, 1), (os.POSIX_SPAWN_DUP2, devnull, 2)],
    )
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - t0
    os.close(devnull)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{argv} failed")
    return wall, usage.ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    geo = str(BIN / "geo")
    cases = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "python -c 'import torch'": [sys.executable, "-c", "import torch"],
        "geo --help": [geo, "--help"],
        "geo plugins list": [geo, "plugins", "list"],
        "geo list backbones": [geo, "list", "backbones"],
        "geo info decoder UNetDecoder": [geo, "info", "decoder", "UNetDecoder"],
    }
    for argv in cases.values():  # warm the page cache
        run_once(argv)
    results = {}
    for _ in range(args.repeat):  # interleave so drift hits every case alike
        for name, argv in cases.items():
            wall, rss = run_once(argv)
            results.setdefault(name, {"wall": [], "rss": []})
            results[name]["wall"].append(wall)
            results[name]["rss"].append(rss)
    torch_wall = statistics.median(results["python -c 'import torch'"]["wall"])
    rows = []
    for name, r in results.items():
        med = statistics.median(r["wall"])
        rows.append(
            {
                "command": name,
                "median_s": round(med, 3),
                "best_s": round(min(r["wall"]), 3),
                "peak_rss_mib": round(max(r["rss"]), 1),
                "ratio_to_import_torch": round(med / torch_wall, 3),
            }
        )
    out = {
        "repeat": args.repeat,
        "python": sys.version.split()[0],
        "cpu_count": os.cpu_count(),
        "rows": rows,
        "target": "geo commands <= 0.15 x import torch",
    }
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "startup.json").write_text(json.dumps(out, indent=2) + "\n")
    lines = [
        "# Start-up benchmark",
        "",
        f"median of {args.repeat} interleaved runs, {os.cpu_count()} CPUs",
        "",
        "| command | median s | best s | peak RSS MiB | x import torch |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| `{r['command']}` | {r['median_s']} | {r['best_s']} | {r['peak_rss_mib']} | "
            f"{r['ratio_to_import_torch']} |"
        )
    (HERE / "results" / "startup.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
