"""Numerical agreement of geo-plugin-timm's DINOv3 names with TerraTorch's ``DinoV3Wrapper``.

    .venv/bin/python benchmarks/dinov3_agreement.py [--terratorch /path/to/terratorch] [--dinov3 /path/to/dinov3]

TerraTorch's ``terratorch/models/backbones/dinov3/dinov3_wrapper.py`` builds its models with
``torch.hub.load("facebookresearch/dinov3", name, ...)``. Here that call is served from a local checkout
of facebookresearch/dinov3 (``--dinov3``, outside this repository; no network): the same hub function
(``dinov3.hub.backbones.<name>``) runs. Both checkouts are read-only references.

For each name: Meta's model (random init, perturbed) is saved as a released checkpoint (Meta's own
state dict, incl. ``bias_mask``, ``rope_embed.periods``, ``mask_token``; for SAT-493M ViT-L also
``local_cls_norm``, and a file name carrying the hash Meta's hub uses to recognise it). TerraTorch's
wrapper loads that file through its ``ckpt_path`` (Meta's strict loader); geo loads it through its
``ckpt_path`` (timm's checkpoint filter). Same input; every block's tokens are compared. TerraTorch puts
the class token after the patch tokens, geo before (as its token necks expect): TerraTorch's last token is
moved to the front before comparing. The larger models run at reduced depth (marked) to stay under 4 GB.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from _terratorch_ref import DEFAULT_SRC, TOL, commit, load_module, max_diff, perturb, write_results

#: (name, depth override, weights, file name Meta's hub recognises)
CASES: list[tuple[str, int | None, str]] = [
    ("dinov3_vits16", None, "lvd1689m"),
    ("dinov3_vits16plus", None, "lvd1689m"),
    ("dinov3_vitb16", None, "lvd1689m"),
    ("dinov3_vitl16", 12, "lvd1689m"),
    ("dinov3_vitl16", 12, "sat493m"),
    ("dinov3_vitl16plus", 8, "lvd1689m"),
    ("dinov3_vith16plus", 4, "lvd1689m"),
    ("dinov3_vit7b16", 1, "sat493m"),
]
HASH = {
    ("dinov3_vitl16", "sat493m"): "eadcf0ff",
    ("dinov3_vitl16", "lvd1689m"): "8aa4cbdd",
    ("dinov3_vit7b16", "sat493m"): "a6675841",
}
_DEPTH: dict[str, int | None] = {"value": None}


def install_hub(dinov3_src: str) -> Any:
    """Serve ``torch.hub.load("facebookresearch/dinov3", name, ...)`` from a local checkout."""
    sys.path.insert(0, dinov3_src)
    import dinov3.hub.backbones as hub
    import dinov3.models.vision_transformer as vt

    base = vt.DinoVisionTransformer

    class Reduced(base):  # type: ignore[misc, valid-type]
        def __init__(self, **kw: Any) -> None:
            if _DEPTH["value"] is not None:
                kw["depth"] = _DEPTH["value"]
            super().__init__(**kw)

    vt.DinoVisionTransformer = Reduced

    def load(repo: str, model: str, *args: Any, **kwargs: Any) -> Any:
        assert repo == "facebookresearch/dinov3", repo
        return getattr(hub, model)(*args, **kwargs)

    torch.hub.load = load
    return hub


def run_case(wrapper_mod: Any, hub: Any, name: str, depth: int | None, weights: str, tmp: Path) -> dict[str, Any]:
    from geo_plugin_timm._dinov3 import build_dinov3

    _DEPTH["value"] = depth
    torch.manual_seed(0)
    meta = getattr(hub, name)(pretrained=False, weights=getattr(hub.Weights, weights.upper()))
    state = perturb(meta, scale=0.02, params_only=True)  # keep RoPE periods, k-bias mask
    suffix = f"-{HASH[(name, weights)]}" if (name, weights) in HASH else ""
    path = tmp / f"{name}_pretrain_{weights}{suffix}.pth"
    torch.save(state, path)
    del meta
    tt = wrapper_mod.DinoV3Wrapper(model=name, ckpt_path=str(path), return_cls_token=True).eval()
    kw = {"depth": depth} if depth else {}
    ours = build_dinov3(name, ckpt_path=path, **kw).eval()
    x = torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(1))
    t0 = time.perf_counter()
    with torch.no_grad():
        r = [torch.cat([f[:, -1:], f[:, :-1]], dim=1) for f in tt(x)]  # TerraTorch: class token last
        o = ours(x)
    diff, scale = max_diff(r, o)
    n_blocks = len(r)
    del tt, ours
    return {
        "name": name,
        "weights": weights,
        "depth": f"{n_blocks}" + (" (reduced)" if depth else ""),
        "outputs": f"{n_blocks} blocks",
        "max_abs_diff": diff,
        "max_abs_value": scale,
        "passes": diff <= TOL,
        "seconds": round(time.perf_counter() - t0, 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--terratorch", default=DEFAULT_SRC)
    ap.add_argument(
        "--dinov3",
        default=os.environ.get("DINOV3_SRC", "/tmp/dinov3_ref"),
        help="a checkout of facebookresearch/dinov3 (its dinov3/ package)",
    )
    ap.add_argument("--only", default=None)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    rows = []
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        os.environ["TORCH_HOME"] = str(tmp / "torch")  # Meta's loader copies file:// weights into the hub cache
        hub = install_hub(args.dinov3)
        wrapper = load_module(
            args.terratorch,
            "terratorch/models/backbones/dinov3/dinov3_wrapper.py",
            "terratorch.models.backbones.dinov3.dinov3_wrapper",
        )
        for name, depth, weights in CASES:
            if args.only and args.only not in name:
                continue
            row = run_case(wrapper, hub, name, depth, weights, tmp)
            rows.append(row)
            print(
                f"{'ok' if row['passes'] else 'FAIL':4}  {row['max_abs_diff']:.3e}  {name} {weights} "
                f"depth {row['depth']}",
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
        "dinov3": commit(args.dinov3),
        "threads": args.threads,
    }
    intro = [
        f"`.venv/bin/python benchmarks/dinov3_agreement.py` (reference: TerraTorch @ {src}",
        "`terratorch/models/backbones/dinov3/dinov3_wrapper.py`, whose",
        '`torch.hub.load("facebookresearch/dinov3")` is served by the same hub functions from a local',
        "facebookresearch/dinov3 checkout; both outside the",
        f"repository; torch {torch.__version__}, timm {timm.__version__}, float32, CPU, {args.threads} threads,",
        "input 1 x 3 x 224 x 224).",
        "",
        "Same random weights: Meta's model (parameters perturbed; buffers such as RoPE periods and the k-bias",
        "mask kept, as in every release) saved as a released checkpoint and loaded by both sides",
        "through their `ckpt_path` (TerraTorch: Meta's strict loader; geo: timm's DINOv3 checkpoint filter onto",
        "timm's `*_dinov3_qkvb` / `vit_7b_patch16_dinov3`). Every block's normed tokens compared (class token +",
        "patch tokens; TerraTorch's class token, which it appends last, moved first as geo returns it).",
        "ViT-L and larger run at reduced depth (marked) to keep each process under 4 GB; widths are real.",
    ]
    worst = write_results(
        "dinov3_agreement", "DINOv3 agreement with TerraTorch", intro, rows, ["name", "weights", "depth"], meta
    )
    print(f"worst max abs difference over {len(rows)} cases: {worst:.3e} (target {TOL:g})")


if __name__ == "__main__":
    main()
