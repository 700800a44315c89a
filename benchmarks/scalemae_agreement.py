"""Numerical agreement of geo's Scale-MAE backbones (geo-plugin-torchgeo) with TerraTorch's ``scalemae.py``.

The reference is TerraTorch's module file read from a checkout kept OUTSIDE this repository
(``terratorch/models/backbones/scalemae.py``; needs timm and einops). Its two TerraTorch imports are
stubbed: ``HLSBands`` (an enum of band names) and ``select_patch_embed_weights`` (identity: every case
uses the pretrained RGB bands in their order, where TerraTorch's function changes nothing)::

    .venv/bin/python benchmarks/scalemae_agreement.py --terratorch /work/ref/terratorch

For each case TerraTorch's ``VisionTransformer`` gets random weights perturbed away from its
initialisation; its state dict is written as the released Scale-MAE file is (``{"model": ...}`` next
to MAE decoder keys that must be ignored); TerraTorch's ``load_scalemae_weights`` loads it into a fresh
reference model and geo's ``build_backbone(..., ckpt_path=...)`` into ours. Same input and ``input_res``
(GSD, per sample or the default); max abs difference over every block's tokens.

Writes benchmarks/results/scalemae_agreement.md (and .json). Target: 1e-5.
"""

from __future__ import annotations

import gc
import time
import types
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import torch
from _terratorch_ref import (
    TOL,
    agreement_args,
    commit,
    load_module,
    run_cases,
    shown_depth,
    stub_module,
    write_results,
)
from torch import nn


@dataclass
class Case:
    name: str
    variant: str
    size: int = 224
    res: tuple[float, float] | None = (0.3, 1.5)  # per-sample GSD; None: the default (1.0)
    depth: int | None = None


CASES = [
    Case("scalemae_test (tiny), 64x64, per-sample GSD", "scalemae_test", size=64),
    Case("scalemae_base_patch16, 224, per-sample GSD 0.3/1.5", "scalemae_base_patch16"),
    Case("scalemae_base_patch16, 160, default GSD", "scalemae_base_patch16", size=160, res=None),
    Case("scalemae_large_patch16, depth 12 of 24, 224, per-sample GSD", "scalemae_large_patch16", depth=12),
    Case("scalemae_huge_patch14, depth 8 of 32, 224, per-sample GSD", "scalemae_huge_patch14", depth=8),
]


def load_reference(root: str | Path) -> types.ModuleType:
    """TerraTorch's scalemae.py; ``select_patch_embed_weights`` is the identity (RGB in the pretrained order)."""
    identity = {"select_patch_embed_weights": lambda state_dict, model, pretrained, bands: state_dict}
    stub_module("terratorch.models.backbones.select_patch_embed_weights", identity)
    return load_module(root, "terratorch/models/backbones/scalemae.py", "terratorch.models.backbones.scalemae")


def reference_model(ref: types.ModuleType, cfg: dict[str, Any], depth: int) -> Any:
    return ref.VisionTransformer(
        patch_size=cfg["patch_size"],
        embed_dim=cfg["embed_dim"],
        depth=depth,
        num_heads=cfg["num_heads"],
        mlp_ratio=4,
        qkv_bias=True,
        in_chans=3,
        norm_layer=partial(nn.LayerNorm, eps=1e-6),
        out_indices=list(range(depth)),
    )


def run_case(ref: types.ModuleType, case: Case, tmp: Path) -> dict[str, Any]:
    import geo_core

    cfg = geo_core.BACKBONES.info(f"torchgeo:{case.variant}").metadata
    depth = case.depth or cfg["depth"]
    torch.manual_seed(0)
    src = reference_model(ref, cfg, depth)
    with torch.no_grad():
        for p in src.parameters():
            p.add_(torch.randn_like(p) * 0.02)
    sd = {k: v.detach().clone() for k, v in src.state_dict().items()}
    sd["decoder_embed.weight"] = torch.randn(4, 4)  # MAE decoder keys of the release: ignored by both sides
    sd["mask_token"] = torch.randn(1, 1, 4)
    ckpt = tmp / f"{case.variant}.pth"
    torch.save({"model": sd, "epoch": 799}, ckpt)
    del src, sd  # keep one copy of the weights per side in memory (< 4 GB per process)
    gc.collect()

    rm = ref.load_scalemae_weights(reference_model(ref, cfg, depth), str(ckpt), ["RED", "GREEN", "BLUE"]).eval()
    kw: dict[str, Any] = {"ckpt_path": ckpt, "out_indices": list(range(depth)), "bands": ["RED", "GREEN", "BLUE"]}
    if case.depth:
        kw["depth"] = case.depth
    ours = geo_core.BACKBONES.build(f"torchgeo:{case.variant}", **kw).eval()
    x = torch.randn(2, 3, case.size, case.size)
    res = torch.tensor(case.res) if case.res else None
    t0 = time.perf_counter()
    with torch.no_grad():
        r_feats = rm(x, input_res=res)
        o_feats = ours(x, input_res=res)
    diffs = [(r - o).abs().max().item() for r, o in zip(r_feats, o_feats, strict=True)]
    return {
        "case": case.name,
        "variant": case.variant,
        "size": case.size,
        "res": case.res,
        "depth": depth,
        "full_depth": cfg["depth"],
        "depth_shown": shown_depth(depth, cfg["depth"]),
        "outputs": f"{len(diffs)} blocks",
        "max_abs_diff": max(diffs),
        "max_abs_value": max(r.abs().max().item() for r in r_feats),
        "passes": max(diffs) <= TOL,
        "seconds": round(time.perf_counter() - t0, 2),
    }


def main() -> None:
    args = agreement_args(__doc__)
    ref = load_reference(args.terratorch)
    rows = run_cases(ref, CASES, run_case, args.only)
    if args.no_write:
        return
    import timm
    import torchgeo

    src = commit(args.terratorch)
    label = f"TerraTorch @ {src}"
    meta = {
        "torch": torch.__version__,
        "timm": timm.__version__,
        "torchgeo": torchgeo.__version__,
        "terratorch": src,
        "threads": args.threads,
    }
    intro = [
        "`.venv/bin/python benchmarks/scalemae_agreement.py --terratorch /work/ref/terratorch`",
        f"(reference: {label}, `terratorch/models/backbones/scalemae.py` loaded from the checkout outside the",
        "repository, with `HLSBands` and `select_patch_embed_weights` stubbed (RGB in the pretrained order, where",
        f"the latter is the identity); timm {timm.__version__}, torchgeo {torchgeo.__version__},",
        f"torch {torch.__version__},",
        f"float32, CPU, {args.threads} threads). Same random weights (perturbed away from the initialisation) written",
        'as the released file (`{"model": ...}` with MAE decoder keys both sides ignore), loaded by TerraTorch\'s',
        "`load_scalemae_weights` and by geo's builder; same input and GSD (`input_res`). Difference over every",
        "block's tokens. geo's encoder is torchgeo's `ScaleMAE` (a timm ViT) with TerraTorch's forward.",
    ]
    notes = [
        "Large and huge are checked at reduced depth (12 of 24, 8 of 32 blocks) to keep each process under",
        "4 GB; every block is the same timm code at full width.",
    ]
    columns = ["case", "depth_shown"]
    title = "Scale-MAE agreement with TerraTorch"
    worst = write_results("scalemae_agreement", title, intro, rows, columns, meta, notes, {"depth_shown": "depth"})
    print(f"worst max abs difference over {len(rows)} cases: {worst:.3e} (target {TOL:g})")


if __name__ == "__main__":
    main()
