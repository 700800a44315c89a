"""Numerical agreement of geo's DOFA backbones (geo-plugin-torchgeo) with TerraTorch's ``dofa_vit.py``.

The reference is TerraTorch's module file read from a checkout kept OUTSIDE this repository
(``terratorch/models/backbones/dofa_vit.py``; its registry import is stubbed, torchgeo is the installed one)::

    .venv/bin/python benchmarks/dofa_agreement.py --terratorch /work/ref/terratorch

For each case a torchgeo ``DOFA`` gets random weights perturbed away from its initialisation (the
position embedding included); its encoder state dict is written as the released files are (flat, no
classifier); TerraTorch's ``load_dofa_weights(ckpt_data=...)`` loads it into a fresh ``DOFA`` wrapped
by its ``DOFAEncoderWrapper`` (every block requested), and geo's ``build_backbone(..., ckpt_path=...)``
loads the same file. Same input and band names; max abs difference over every block's tokens.

Writes benchmarks/results/dofa_agreement.md (and .json). Target: 1e-5.
"""

from __future__ import annotations

import gc
import time
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from _terratorch_ref import TOL, agreement_args, commit, load_module, run_cases, shown_depth, write_results

HLS6 = ("BLUE", "GREEN", "RED", "NIR_NARROW", "SWIR_1", "SWIR_2")


@dataclass
class Case:
    name: str
    variant: str
    bands: tuple[str, ...] = HLS6
    img_size: int = 224
    depth: int | None = None  # None: the full depth


CASES = [
    Case("dofa_test (tiny), 6 HLS bands, 32x32", "dofa_test", img_size=32),
    Case("dofa_small_patch16_224, 6 HLS bands, 224", "dofa_small_patch16_224"),
    Case("dofa_base_patch16_224, 6 HLS bands, 224", "dofa_base_patch16_224"),
    Case("dofa_base_patch16_224, S1 VV+VH, 224", "dofa_base_patch16_224", bands=("VV", "VH")),
    Case(
        "dofa_base_patch16_224, img_size 256 (position embedding resized, bilinear)",
        "dofa_base_patch16_224",
        img_size=256,
    ),
    Case("dofa_large_patch16_224, depth 12 of 24, 6 HLS bands, 224", "dofa_large_patch16_224", depth=12),
]


def run_case(ref: types.ModuleType, case: Case, tmp: Path) -> dict[str, Any]:
    import geo_core
    from torchgeo.models.dofa import DOFA

    cfg = geo_core.BACKBONES.info(f"torchgeo:{case.variant}").metadata
    depth = case.depth or cfg["depth"]
    size = dict(patch_size=cfg["patch_size"], embed_dim=cfg["embed_dim"], depth=depth, num_heads=cfg["num_heads"])
    torch.manual_seed(0)
    src = DOFA(img_size=cfg["img_size"], **size)
    with torch.no_grad():
        for p in src.parameters():
            p.add_(torch.randn_like(p) * 0.02)
    released = {k: v.detach().clone() for k, v in src.state_dict().items() if not k.startswith(("head.", "fc_norm."))}
    ckpt = tmp / f"{case.variant}.pth"
    torch.save(released, ckpt)
    del src, released  # keep one copy of the weights per side in memory (< 4 GB per process)
    gc.collect()

    rm = DOFA(img_size=case.img_size, **size)
    rm = ref.load_dofa_weights(rm, "bilinear", ckpt_data=str(ckpt), input_size=case.img_size)
    wrapper = ref.DOFAEncoderWrapper(rm, ref.get_wavelenghts(list(case.bands)), out_indices=list(range(depth)))
    kw: dict[str, Any] = {"ckpt_path": ckpt, "img_size": case.img_size, "out_indices": list(range(depth))}
    if case.depth:
        kw["depth"] = case.depth
    ours = geo_core.BACKBONES.build(f"torchgeo:{case.variant}", list(case.bands), **kw).eval()
    wrapper.eval()
    x = torch.randn(2, len(case.bands), case.img_size, case.img_size)
    t0 = time.perf_counter()
    with torch.no_grad():
        r_feats = list(wrapper(x))
        o_feats = ours(x)
    diffs = [(r - o).abs().max().item() for r, o in zip(r_feats, o_feats, strict=True)]
    return {
        "case": case.name,
        "variant": case.variant,
        "bands": list(case.bands),
        "img_size": case.img_size,
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
    ref = load_module(
        args.terratorch, "terratorch/models/backbones/dofa_vit.py", "terratorch.models.backbones.dofa_vit"
    )
    rows = run_cases(ref, CASES, run_case, args.only)
    if args.no_write:
        return
    import torchgeo

    src = commit(args.terratorch)
    meta = {"torch": torch.__version__, "torchgeo": torchgeo.__version__, "terratorch": src, "threads": args.threads}
    intro = [
        "`.venv/bin/python benchmarks/dofa_agreement.py --terratorch /work/ref/terratorch`",
        f"(reference: TerraTorch @ {src}, `terratorch/models/backbones/dofa_vit.py` loaded from the checkout outside",
        "the repository: its `load_dofa_weights(ckpt_data=...)` and `DOFAEncoderWrapper`; torchgeo",
        f"{torchgeo.__version__}, torch {torch.__version__}, float32, CPU, {args.threads} threads). Same random",
        "weights (perturbed away from the initialisation, position embedding included) written as the released",
        "files are (flat encoder state dict), loaded by both sides from that file; same input and band names.",
        "Difference over every block's tokens.",
    ]
    notes = [
        "`dofa_large_patch16_224` is checked at 12 of its 24 blocks to keep the process under 4 GB (every",
        "block is the same timm code; the full-size wavelength-conditioned patch embedding is included).",
    ]
    columns = ["case", "depth_shown"]
    title = "DOFA agreement with TerraTorch"
    worst = write_results("dofa_agreement", title, intro, rows, columns, meta, notes, {"depth_shown": "depth"})
    print(f"worst max abs difference over {len(rows)} cases: {worst:.3e} (target {TOL:g})")


if __name__ == "__main__":
    main()
