"""Numerical agreement of geo-plugin-mmearth with TerraTorch's MMEarth ConvNeXt-V2.

    .venv/bin/python benchmarks/mmearth_agreement.py [--terratorch /path/to/terratorch] \
        [--norm-layers /path/to/MMEarth-train/models/norm_layers.py]

TerraTorch's ``terratorch/models/backbones/mmearth_convnextv2.py`` imports ``.norm_layers``, which
TerraTorch does not ship (the file cannot be imported from TerraTorch as it is); it comes from
MMEarth-train (``models/norm_layers.py``), the code TerraTorch's file says it was copied from. Both are
read from checkouts outside this repository.

For each size: TerraTorch's ``ConvNeXtV2`` gets random weights (perturbed away from its init); they are
written in MMEarth's released pre-training layout (``{"model": {"encoder.*": MinkowskiEngine kernels,
.ln/.linear wrappers, (1, C) biases and GRN parameters}, decoder keys}}``) and loaded by geo through its
checkpoint filter, while TerraTorch's module gets the dense state dict (it has no loader of its own).
Same input; the outputs of the stem and of every block are compared (forward hooks), and geo's four
stage features against TerraTorch's stage outputs. Base and larger are checked at reduced depth.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from _terratorch_ref import DEFAULT_SRC, TOL, commit, install_stubs, load_module, max_diff, perturb, write_results

MIRROR = Path("/work/.mirror/vishalned+MMEarth-train/repo")
#: (variant, depths override or None, patch_size, image size, note)
CASES: list[tuple[str, list[int] | None, int, int]] = [
    ("mmearth_convnextv2_atto", None, 8, 56),
    ("mmearth_convnextv2_atto", None, 16, 112),
    ("mmearth_convnextv2_femto", None, 16, 112),
    ("mmearth_convnextv2_pico", None, 16, 112),
    ("mmearth_convnextv2_nano", None, 16, 112),
    ("mmearth_convnextv2_tiny", None, 16, 112),
    ("mmearth_convnextv2_base", [3, 3, 9, 3], 16, 112),
    ("mmearth_convnextv2_large", [3, 3, 6, 3], 16, 112),
    ("mmearth_convnextv2_huge", [2, 2, 3, 2], 16, 112),
    ("test_mmearth_convnextv2", None, 32, 64),
]


def released_layout(dense: dict[str, torch.Tensor]) -> dict[str, Any]:
    """Dense ConvNeXt-V2 weights written as MMEarth's released pre-training checkpoint."""
    convs = {k.rpartition(".")[0] for k, v in dense.items() if v.ndim == 4 and k.endswith(".weight")}
    enc: dict[str, torch.Tensor] = {}
    for k, v in dense.items():
        mod, _, leaf = k.rpartition(".")
        if mod.startswith(("head", "norm")) and "." not in mod:
            continue  # the classifier and final norm are not part of the pre-trained encoder
        if mod in convs and leaf == "weight":
            flat = v.transpose(3, 2).reshape(v.shape[0], v.shape[1], -1)
            depthwise = mod.endswith("dwconv") or mod == "stem.0"
            enc[f"encoder.{mod}.kernel"] = (flat[:, 0].permute(1, 0) if depthwise else flat.permute(2, 1, 0)).clone()
        elif mod in convs:
            enc[f"encoder.{k}"] = v[None].clone()
        elif leaf in ("gamma", "beta"):
            enc[f"encoder.{k}"] = v.reshape(1, -1).clone()
        else:
            inner = "linear" if mod.endswith(("pwconv1", "pwconv2")) else "ln"
            enc[f"encoder.{mod}.{inner}.{leaf}"] = v.clone()
    enc["mask_token"] = torch.zeros(1, 8)
    enc["decoder.0.weight"] = torch.zeros(4)
    enc["pred.weight"] = torch.zeros(4)
    return {"model": enc, "epoch": 199}


def _block_outputs(model: torch.nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    outs: list[torch.Tensor] = []
    stem = model.stem  # type: ignore[attr-defined]
    handles = [stem.register_forward_hook(lambda m, i, o: outs.append(o))]
    for stage in model.stages:  # type: ignore[attr-defined]
        for block in stage:
            handles.append(block.register_forward_hook(lambda m, i, o: outs.append(o)))
    try:
        model(x)
    finally:
        for h in handles:
            h.remove()
    return outs


def run_case(ref: Any, variant: str, depths: list[int] | None, patch: int, size: int, tmp: Path) -> dict[str, Any]:
    from geo_plugin_mmearth._convnextv2 import CFGS, S2_BANDS, build_convnextv2

    cfg = CFGS[variant]
    d = depths or cfg["depths"]
    torch.manual_seed(0)
    rm = ref.ConvNeXtV2(patch_size=patch, img_size=size, in_chans=len(S2_BANDS), depths=d, dims=cfg["dims"]).eval()
    state = perturb(rm, scale=0.05)
    rm.load_state_dict(state)
    path = tmp / f"{variant}_checkpoint-199.pth"
    torch.save(released_layout(state), path)
    kw = {"depths": depths} if depths else {}
    ours = build_convnextv2(variant, ckpt_path=path, patch_size=patch, **kw).eval()
    x = torch.randn(2, len(S2_BANDS), size, size, generator=torch.Generator().manual_seed(1))
    t0 = time.perf_counter()
    with torch.no_grad():
        r_blocks = _block_outputs(rm, x)
        o_blocks = _block_outputs(ours, x)
        stage_ends = [sum(d[: i + 1]) for i in range(4)]  # positions after the stem output
        r_stages = [r_blocks[i] for i in stage_ends]
        o_feats = ours(x)
    diff_b, scale = max_diff(r_blocks, o_blocks)
    diff_f, _ = max_diff(r_stages, o_feats)
    diff = max(diff_b, diff_f)
    del rm, ours
    return {
        "variant": variant,
        "depths": str(d) + ("" if depths is None else " (reduced)"),
        "patch": patch,
        "input": f"2x12x{size}x{size}",
        "outputs": f"stem + {sum(d)} blocks + 4 features",
        "max_abs_diff": diff,
        "max_abs_value": scale,
        "passes": diff <= TOL,
        "seconds": round(time.perf_counter() - t0, 2),
    }


def norm_layers_file(arg: str | None, tmp: Path) -> Path:
    if arg:
        return Path(arg)
    if MIRROR.exists():  # a bare mirror of MMEarth-train: read the file from its HEAD
        text = subprocess.run(
            ["git", "--git-dir", str(MIRROR), "show", "HEAD:models/norm_layers.py"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        out = tmp / "norm_layers.py"
        out.write_text(text)
        return out
    raise SystemExit("give MMEarth-train's models/norm_layers.py with --norm-layers (TerraTorch's file imports it)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--terratorch", default=DEFAULT_SRC)
    ap.add_argument("--norm-layers", default=None, help="MMEarth-train's models/norm_layers.py")
    ap.add_argument("--only", default=None)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    rows = []
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        install_stubs()
        norm = norm_layers_file(args.norm_layers, tmp)
        load_module(norm.parent, norm.name, "terratorch.models.backbones.norm_layers")
        ref = load_module(
            args.terratorch,
            "terratorch/models/backbones/mmearth_convnextv2.py",
            "terratorch.models.backbones.mmearth_convnextv2",
        )
        for variant, depths, patch, size in CASES:
            if args.only and args.only not in variant:
                continue
            row = run_case(ref, variant, depths, patch, size, tmp)
            rows.append(row)
            print(
                f"{'ok' if row['passes'] else 'FAIL':4}  {row['max_abs_diff']:.3e}  {variant} {row['depths']} "
                f"patch {patch}",
                flush=True,
            )
    if args.no_write:
        return
    import timm

    src = commit(args.terratorch)
    meta = {
        "torch": torch.__version__,
        "timm": timm.__version__,
        "terratorch": src,
        "threads": args.threads,
        "python": sys.version.split()[0],
    }
    intro = [
        f"`.venv/bin/python benchmarks/mmearth_agreement.py` (reference: TerraTorch @ {src}",
        "`terratorch/models/backbones/mmearth_convnextv2.py` with MMEarth-train's `models/norm_layers.py`, which",
        "it imports but TerraTorch does not ship; both read from checkouts outside the repository;",
        f"torch {torch.__version__}, timm {timm.__version__}, float32, CPU, {args.threads} threads).",
        "",
        "Same random weights: TerraTorch's module perturbed away from its init and loaded with that dense",
        "state dict; geo loads the same weights written in MMEarth's released pre-training layout",
        '(`{"model": {"encoder.*"}}`, MinkowskiEngine kernels, `.ln`/`.linear`, `(1, C)` biases and GRN',
        "parameters, plus decoder keys) through `checkpoint_filter_fn`. Outputs compared: the stem and every",
        "block (forward hooks), and geo's four stage features against TerraTorch's stage outputs.",
        "Base, large and huge run at reduced depth (marked) to keep each process under 4 GB; widths are the",
        "real ones.",
    ]
    worst = write_results(
        "mmearth_agreement",
        "MMEarth ConvNeXt-V2 agreement with TerraTorch",
        intro,
        rows,
        ["variant", "depths", "patch", "input"],
        meta,
    )
    print(f"worst max abs difference over {len(rows)} cases: {worst:.3e} (target {TOL:g})")


if __name__ == "__main__":
    main()
