"""Measure the path ``geo train --config`` takes through geo-core's modules.

Runs one tiny ``geo train`` in this process under :func:`sys.setprofile` and records every call made in a
``geo_core`` module. It reports:

- the deepest chain of geo-core modules on the call stack (consecutive frames of one module merged), i.e.
  how many modules a reader follows from the command to the innermost geo-core call;
- the longest chain of geo-core *packages* on one call stack (``cli``, ``runs``, ``tasks``...; consecutive
  frames of one package merged) and how often that chain re-enters a package it already left (the
  "bouncing" between ``cli/`` and ``tasks/`` a newcomer sees when following the code).

Usage (any checkout with its environment)::

    python scripts/train_call_path.py [--json OUT]

The training data are a few random tensors (``geo_core.testing``'s tiny datamodule), so the figure
depends only on the code's shape.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import textwrap
from pathlib import Path
from types import FrameType
from typing import Any

CUSTOM = textwrap.dedent("""
    import geo_core
    from geo_core.testing import TinyGeoDataModule

    geo_core.DATAMODULES.register(name="CallPathData")(TinyGeoDataModule)
""")

CONFIG = textwrap.dedent("""
    custom_modules_path: {custom}
    trainer:
      max_epochs: 1
      accelerator: cpu
      devices: 1
      logger: false
      enable_progress_bar: false
      enable_model_summary: false
      enable_checkpointing: false
      num_sanity_val_steps: 0
      default_root_dir: {root}
    model:
      class_path: SemanticSegmentationTask
      init_args:
        model_factory: EncoderDecoderFactory
        model_args: {{backbone: tiny_cnn, decoder: UNetDecoder, num_classes: 2}}
        loss: ce
        lr: 0.01
    data:
      class_path: CallPathData
      init_args: {{num_samples: 4, size: 32, batch_size: 4}}
""")


def _module_of(frame: FrameType) -> str | None:
    name = frame.f_globals.get("__name__", "")
    return name if isinstance(name, str) and name.startswith("geo_core") else None


def _package(module: str) -> str:
    parts = module.split(".")
    return parts[1].lstrip("_") if len(parts) > 1 else "geo_core"


def _merged(items: list[str]) -> list[str]:
    return [x for i, x in enumerate(items) if i == 0 or items[i - 1] != x]


def _chain(frame: FrameType | None) -> list[str]:
    mods: list[str] = []
    while frame is not None:
        m = _module_of(frame)
        if m is not None and (not mods or mods[-1] != m):
            mods.append(m)
        frame = frame.f_back
    return mods[::-1]


def measure() -> dict[str, Any]:
    """Run the tiny training under the profiler; return the figures."""
    from geo_core.cli import main  # type: ignore[attr-defined]

    deepest: list[str] = []
    packages: list[str] = []
    reentries = 0

    def prof(frame: FrameType, event: str, arg: object) -> None:
        nonlocal deepest, packages, reentries
        if event != "call" or _module_of(frame) is None:
            return
        chain = _chain(frame)
        if len(chain) > len(deepest):
            deepest = chain
        pkgs = _merged([_package(m) for m in chain])
        back = len(pkgs) - len(set(pkgs))
        if (back, len(pkgs)) > (reentries, len(packages)):
            packages, reentries = pkgs, back

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "callpath_components.py").write_text(CUSTOM)
        cfg = root / "train.yaml"
        cfg.write_text(CONFIG.format(custom=root / "callpath_components.py", root=root / "run"))
        argv = sys.argv
        sys.argv = ["geo", "train", "--config", str(cfg)]
        sys.setprofile(prof)
        try:
            main()
        except SystemExit as exc:
            if exc.code not in (0, None):
                raise
        finally:
            sys.setprofile(None)
            sys.argv = argv
    return {
        "deepest_chain_modules": len(deepest),
        "deepest_chain": deepest,
        "deepest_package_chain": _merged([_package(m) for m in deepest]),
        "package_chain": packages,
        "package_reentries": reentries,
    }


def main() -> None:
    """Print (and optionally write) the figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", type=Path, help="also write the figures to this file")
    args = ap.parse_args()
    os.environ.setdefault("GEO_NO_UPDATE_CHECK", "1")
    res = measure()
    print(f"deepest chain: {res['deepest_chain_modules']} geo-core modules")
    for m in res["deepest_chain"]:
        print(f"  {m}")
    print(f"its packages: {' > '.join(res['deepest_package_chain'])}")
    seq = res["package_chain"]
    print(f"package chain with the most re-entries ({res['package_reentries']}): {' > '.join(seq)}")
    if args.json:
        args.json.write_text(json.dumps(res, indent=2) + "\n")


if __name__ == "__main__":
    main()
