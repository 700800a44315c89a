"""Shared by the *_agreement.py benchmarks: import single TerraTorch module files and record results.

TerraTorch's package ``__init__`` imports everything it has (and needs many packages), so a
benchmark loads only the module files it compares against, from a TerraTorch checkout kept
OUTSIDE this repository (``--terratorch``, default ``$TERRATORCH_SRC``, ``$TERRATORCH_REF`` or
``/work/ref/terratorch``): :func:`load_module` for one file, :func:`load_package` for a folder whose
files import each other. The registry decorator and the band enums those files import are replaced by
small stand-ins (:func:`install_stubs`; a script adds or replaces others with :func:`stub_module`); the
model code that runs is TerraTorch's own. Every script writes its report with :func:`write_results`
(``results/<stem>.md`` and ``.json``, one table format).
"""

from __future__ import annotations

import argparse
import enum
import gc
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import types
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

HERE = Path(__file__).resolve().parent
TOL = 1e-5
DEFAULT_SRC = os.environ.get("TERRATORCH_SRC") or os.environ.get("TERRATORCH_REF", "/work/ref/terratorch")


class _Registry:
    def register(self, fn: Any = None, **_: Any) -> Any:
        return fn if fn is not None else (lambda f: f)


def _bands_enum(name: str) -> type[enum.Enum]:
    members = ["COASTAL_AEROSOL", "BLUE", "GREEN", "RED", "NIR_NARROW", "NIR_BROAD", "SWIR_1", "SWIR_2", "VV", "VH"]
    return enum.Enum(name, {m: m for m in members})  # type: ignore[return-value]


def install_stubs() -> None:
    """Stand-ins for ``terratorch``, ``terratorch.registry`` and the band enums of ``terratorch.datasets``."""
    if "terratorch.registry" in sys.modules:
        return
    pkgs = ["terratorch", "terratorch.models", "terratorch.models.backbones", "terratorch.datasets"]
    for name in pkgs:
        mod = types.ModuleType(name)
        mod.__path__ = []  # a package, so submodules can be registered below it
        sys.modules[name] = mod
    reg = types.ModuleType("terratorch.registry")
    reg.TERRATORCH_BACKBONE_REGISTRY = _Registry()  # type: ignore[attr-defined]
    sys.modules["terratorch.registry"] = reg
    utils = types.ModuleType("terratorch.datasets.utils")
    for name in ("HLSBands", "OpticalBands", "SARBands"):
        e = _bands_enum(name)
        setattr(utils, name, e)
        setattr(sys.modules["terratorch.datasets"], name, e)
    sys.modules["terratorch.datasets.utils"] = utils


def stub_module(name: str, attrs: dict[str, Any] | None = None, *, package: bool = False) -> types.ModuleType:
    """Register a stand-in module ``name`` (before :func:`load_module` imports a file that needs it).

    ``attrs`` become its attributes; ``package=True`` makes it an empty package (TerraTorch's package
    ``__init__`` files import everything), so module files can be loaded below it; an existing package
    stand-in is kept (and given ``attrs``).
    """
    install_stubs()
    mod = sys.modules[name] if package and name in sys.modules else types.ModuleType(name)
    if package:
        mod.__path__ = []
    for key, value in (attrs or {}).items():
        setattr(mod, key, value)
    sys.modules[name] = mod
    return mod


def shown_depth(depth: int, full: int) -> str:
    """``"12"`` or ``"12 of 24"`` where a case runs at reduced depth."""
    return str(depth) if depth == full else f"{depth} of {full}"


def load_package(src: str | Path, relpath: str, as_name: str) -> types.ModuleType:
    """Make the folder ``<src>/<relpath>`` importable as package ``as_name`` without running its ``__init__``.

    Its module files then import each other as in TerraTorch (``importlib.import_module(as_name + ".x")``).
    """
    path = Path(src) / relpath
    if not path.is_dir():
        raise SystemExit(f"TerraTorch folder not found: {path}; give --terratorch <checkout>")
    pkg = stub_module(as_name)
    pkg.__path__ = [str(path)]
    return pkg


def load_module(src: str | Path, relpath: str, as_name: str) -> Any:
    """Import ``<src>/<relpath>`` (a TerraTorch file) as module ``as_name``."""
    path = Path(src) / relpath
    if not path.is_file():
        raise SystemExit(f"TerraTorch file not found: {path}; give --terratorch <checkout>")
    install_stubs()
    helper = "terratorch.models.backbones.select_patch_embed_weights"
    helper_file = Path(src) / "terratorch/models/backbones/select_patch_embed_weights.py"
    if helper not in sys.modules and as_name != helper and helper_file.is_file():  # imported by TerraTorch's files
        load_module(src, "terratorch/models/backbones/select_patch_embed_weights.py", helper)
    spec = importlib.util.spec_from_file_location(as_name, path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[as_name] = module
    spec.loader.exec_module(module)
    return module


def agreement_args(doc: str | None, threads: int = 2) -> argparse.Namespace:
    """The options every agreement script takes: ``--terratorch``, ``--only``, ``--threads``, ``--no-write``."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--terratorch", default=DEFAULT_SRC, help="a TerraTorch checkout (read only, outside the repo)")
    ap.add_argument("--only", default=None, help="run the cases whose name contains this text")
    ap.add_argument("--threads", type=int, default=threads)
    ap.add_argument("--no-write", action="store_true", help="print only; do not update benchmarks/results")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    return args


def run_cases(
    ref: Any, cases: Sequence[Any], run: Callable[[Any, Any, Path], dict[str, Any]], only: str | None
) -> list[dict[str, Any]]:
    """``run(ref, case, tmp)`` for every case whose ``name`` contains ``only``, one line printed per case.

    Each case's files go to one temporary folder; memory is collected between cases (one model per side).
    """
    rows = []
    with tempfile.TemporaryDirectory() as d:
        for case in cases:
            if only and only not in case.name:
                continue
            row = run(ref, case, Path(d))
            gc.collect()
            rows.append(row)
            flag = "info" if row.get("passes") is None else ("ok" if row["passes"] else "FAIL")
            print(f"{flag:4}  {row['max_abs_diff']:.3e}  (|x|max {row['max_abs_value']:.2f})  {case.name}", flush=True)
    return rows


def commit(src: str | Path) -> str:
    """Short commit of a reference checkout: git, else ``$REF_COMMIT`` (a copy without .git), else 'unknown'."""
    if not (Path(src) / ".git").exists():
        return os.environ.get("REF_COMMIT", "unknown")
    try:
        out = subprocess.run(
            ["git", "-C", str(src), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        )
        return out.stdout.strip()
    except Exception:
        return "unknown"


def perturb(
    model: torch.nn.Module, seed: int = 0, scale: float = 0.02, params_only: bool = False
) -> dict[str, torch.Tensor]:
    """Move every float tensor of ``model`` away from its init (BatchNorm variances stay positive).

    ``params_only`` leaves buffers alone (fixed tables such as RoPE periods or bias masks).
    """
    g = torch.Generator().manual_seed(seed)
    params = {k for k, _ in model.named_parameters()}
    state = {}
    for k, v in model.state_dict().items():
        if v.is_floating_point() and (k in params or not params_only):
            v = v + scale * torch.randn(v.shape, generator=g)
            if k.endswith("running_var"):
                v = v.abs() + 0.5
        state[k] = v.detach().clone()
    return state


def max_diff(ref: list[torch.Tensor], ours: list[torch.Tensor]) -> tuple[float, float]:
    """Max abs difference and max abs value over paired outputs (shapes must match)."""
    if len(ref) != len(ours):
        raise AssertionError(f"{len(ref)} reference outputs but {len(ours)} of ours")
    for i, (r, o) in enumerate(zip(ref, ours, strict=True)):
        if r.shape != o.shape:
            raise AssertionError(f"output {i}: reference {tuple(r.shape)} vs ours {tuple(o.shape)}")
    diff = max((r.float() - o.float()).abs().max().item() for r, o in zip(ref, ours, strict=True))
    scale = max(r.abs().max().item() for r in ref)
    return diff, scale


def write_results(
    stem: str,
    title: str,
    intro: list[str],
    rows: list[dict[str, Any]],
    columns: list[str],
    meta: dict[str, Any],
    notes: list[str] = (),  # type: ignore[assignment]
    headers: dict[str, str] | None = None,
) -> float:
    """Write ``results/<stem>.json`` and ``.md``; return the worst checked difference.

    ``columns`` are row keys shown first in the table (``headers`` renames them there); the table ends with
    ``outputs``, ``max abs diff``, ``max abs value`` and the result. Rows whose ``passes`` is None are
    information only (not counted in the worst difference).
    """
    names = headers or {}
    checked = [r for r in rows if r.get("passes") is not None]
    worst = max((r["max_abs_diff"] for r in checked), default=float("nan"))
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / f"{stem}.json").write_text(
        json.dumps({**meta, "tolerance": TOL, "worst_checked": worst, "cases": rows}, indent=2) + "\n"
    )
    lines = [
        f"# {title}",
        "",
        *intro,
        "",
        f"**Worst max abs difference over {len(checked)} checked cases: {worst:.2e}** (target {TOL:g}).",
        "",
        "| "
        + " | ".join([*(names.get(c, c) for c in columns), "outputs", "max abs diff", "max abs value", "result"])
        + " |",
        "|" + "---|" * (len(columns) + 4),
    ]
    for r in rows:
        res = "info" if r.get("passes") is None else ("ok" if r["passes"] else "FAIL")
        cells = [str(r.get(c, "")) for c in columns]
        lines.append(
            "| "
            + " | ".join([*cells, str(r["outputs"]), f"{r['max_abs_diff']:.2e}", f"{r['max_abs_value']:.2f}", res])
            + " |"
        )
    lines += ["", *notes, ""]
    (out / f"{stem}.md").write_text("\n".join(lines))
    return worst
