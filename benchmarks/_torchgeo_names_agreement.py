"""Agreement of geo-plugin-torchgeo's TerraTorch names (Satlas, SSL4EO, ...) with TerraTorch's own wrappers.

Used by satlas_agreement.py and ssl4eo_agreement.py. For every name: TerraTorch's builder (from
``terratorch/models/backbones/torchgeo_{swin_satlas,resnet,vit}.py``, loaded outside the repository)
makes the architecture; its weights, perturbed away from the initialisation, are written as a
released torchgeo file (encoder keys only: no classifier); TerraTorch loads that file through its own
``ckpt_data`` path where it can, and geo through ``ckpt_data`` too; both run the same input and every
feature TerraTorch can return is compared (Swin: all 8 layers of ``features``, permuted from
TerraTorch's channels-last to channels-first; ResNet: stem + 4 stages; ViT: every block), plus the
default feature list of each side.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from _terratorch_ref import DEFAULT_SRC, TOL, commit, load_module, max_diff, perturb, write_results

FILES = {
    "swin": "terratorch/models/backbones/torchgeo_swin_satlas.py",
    "resnet": "terratorch/models/backbones/torchgeo_resnet.py",
    "vit": "terratorch/models/backbones/torchgeo_vit.py",
}
INNER = {"swin": "swin_model", "resnet": "resnet_model", "vit": "vit_model"}
ALL = {"swin": list(range(8)), "resnet": list(range(5)), "vit": None}
CLASSIFIER = ("fc.", "head.")


def _tt_bands(ref: Any, bands: list[str]) -> list[str] | None:
    table = getattr(ref, "look_up_table", {})
    try:
        return [table[b] for b in bands]
    except KeyError:
        return None


def _run_ref(ref: Any, layout: str, x: torch.Tensor, out_indices: list[int] | None, model: Any) -> list[torch.Tensor]:
    fn = getattr(
        ref,
        "SwinEncoderWrapper"
        if layout == "swin"
        else "ResNetEncoderWrapper"
        if layout == "resnet"
        else "ViTEncoderWrapper",
    )
    inner = getattr(model, INNER[layout])
    meta: dict[str, Any] = {}
    if layout == "swin":
        meta = ref.swin_v2_t_meta if inner.features[0][0].out_channels == 96 else ref.swin_v2_b_meta
    wrapper = fn(inner, dict(meta), None, out_indices) if layout != "vit" else model  # its ViT ignores out_indices
    feats = list(wrapper(x))
    return [f.permute(0, 3, 1, 2) for f in feats] if layout == "swin" else feats


def run_name(refs: dict[str, Any], name: str, tmp: Path, size: int) -> dict[str, Any]:
    import geo_core

    meta = geo_core.BACKBONES.info(f"torchgeo:{name}").metadata
    layout = meta["layout"]
    ref = refs[layout]
    builder = getattr(ref, name)
    bands = list(meta.get("bands") or ["R", "G", "B"][: meta["in_chans"]])
    torch.manual_seed(0)
    base = builder(model_bands=bands, pretrained=False, out_indices=ALL[layout])
    inner = getattr(base, INNER[layout])
    state = {k: v for k, v in perturb(inner).items() if not k.startswith(CLASSIFIER)}
    path = tmp / meta["weights"]["url"].rsplit("/", 1)[1]
    torch.save(state, path)

    tt_bands = _tt_bands(ref, bands)
    loader = "TerraTorch ckpt_data"
    try:
        if not meta.get("bands"):  # its loader would copy no input channel (select_patch_embed_weights, no bands)
            raise LookupError("weights record no bands: its loader leaves the first conv at random init")
        if tt_bands is None:
            raise KeyError(bands[0])
        rm = builder(model_bands=tt_bands, pretrained=True, ckpt_data=str(path), out_indices=ALL[layout])
    except LookupError as exc:  # TerraTorch's band table has no entry for the weight's band names
        loader = f"state dict (TerraTorch's loader: {type(exc).__name__} {exc})"
        rm = builder(model_bands=bands, pretrained=False, out_indices=ALL[layout])
        missing, unexpected = getattr(rm, INNER[layout]).load_state_dict(state, strict=False)
        assert not unexpected and all(k.startswith(CLASSIFIER) for k in missing), (missing, unexpected)
    ours = geo_core.BACKBONES.build(f"torchgeo:{name}", model_bands=bands, ckpt_data=path, out_indices=ALL[layout])
    ours_default = geo_core.BACKBONES.build(f"torchgeo:{name}", model_bands=bands, ckpt_data=path)
    rm.eval(), ours.eval(), ours_default.eval()
    g = torch.Generator().manual_seed(1)
    x = torch.randn(1, len(bands), size, size, generator=g)
    t0 = time.perf_counter()
    with torch.no_grad():
        r_all = _run_ref(ref, layout, x, ALL[layout], rm)
        r_def = _run_ref(ref, layout, x, None, rm)
        o_all, o_def = ours(x), ours_default(x)
    diff_all, scale = max_diff(r_all, o_all)
    diff_def, _ = max_diff(r_def, o_def)
    diff = max(diff_all, diff_def)
    return {
        "name": name,
        "weights": meta["torchgeo_weights"],
        "layout": layout,
        "bands": len(bands),
        "loader": loader,
        "outputs": f"{len(r_all)} + {len(r_def)} default",
        "max_abs_diff": diff,
        "max_abs_value": scale,
        "passes": diff <= TOL,
        "seconds": round(time.perf_counter() - t0, 2),
    }


def main(family: str, names: dict[str, Any], title: str) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--terratorch", default=DEFAULT_SRC, help="TerraTorch checkout (read-only, outside the repo)")
    ap.add_argument("--only", default=None, help="names containing this text")
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    layouts = sorted({layout for n, (_, layout) in names.items() if not args.only or args.only in n})
    import torchgeo.models.resnet as tg_resnet

    shims = []
    if not hasattr(tg_resnet, "ResNet"):  # TerraTorch @ 85467a9f imports it (type hints only); torchgeo 0.8 dropped it
        import timm.models.resnet

        tg_resnet.ResNet = timm.models.resnet.ResNet  # type: ignore[attr-defined]
        shims.append(
            "`torchgeo.models.resnet.ResNet` (gone in torchgeo 0.8, imported by TerraTorch's file for type "
            "hints only) is set to timm's `ResNet` before the import"
        )
    refs = {layout: load_module(args.terratorch, FILES[layout], f"tt_torchgeo_{layout}") for layout in layouts}
    rows = []
    with tempfile.TemporaryDirectory() as d:
        for name in names:
            if args.only and args.only not in name:
                continue
            row = run_name(refs, name, Path(d), args.size)
            rows.append(row)
            print(
                f"{'ok' if row['passes'] else 'FAIL':4}  {row['max_abs_diff']:.3e}  {name}  [{row['loader']}]",
                flush=True,
            )
    if args.no_write:
        return
    import timm
    import torchgeo
    import torchvision

    src = commit(args.terratorch)
    files = ", ".join(f"`{FILES[lt]}`" for lt in layouts)
    meta = {
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "timm": timm.__version__,
        "torchgeo": torchgeo.__version__,
        "terratorch": src,
        "threads": args.threads,
        "size": args.size,
    }
    intro = [
        f"`.venv/bin/python benchmarks/{family}_agreement.py` (reference: TerraTorch @ {src}: {files},",
        "loaded from a checkout outside the repository with stand-ins for its registry and band enums;",
        f"torch {torch.__version__}, torchvision {torchvision.__version__}, timm {timm.__version__}, "
        f"torchgeo {torchgeo.__version__}; float32, CPU, {args.threads} threads, input 1 x bands x "
        f"{args.size} x {args.size}).",
        "",
        "Same random weights (TerraTorch's architecture perturbed away from its init) written as a released",
        "torchgeo file (encoder keys, no classifier) and loaded by both sides; outputs compared: every feature",
        "TerraTorch can return (Swin: the 8 layers of torchvision's `features`, TerraTorch's channels-last maps",
        "permuted to geo's channels-first; ResNet: stem + 4 stages; ViT: all 12 blocks) plus each side's",
        "default feature list (TerraTorch: `out_indices=None`).",
    ]
    notes = [
        "`loader`: how TerraTorch got the weights. `TerraTorch ckpt_data` is its own file loader",
        "(`load_*_weights` with band selection); where its band table (`look_up_table`, Sentinel-2 `B01`-style",
        "names only) has no entry for the weight's band names (Landsat `B1`/`SR_B1`, SSL4EO-S12 `B1`..`B8a`),",
        "TerraTorch's loader raises KeyError, so the same state dict is loaded into its model directly",
        "(strict apart from the classifier). geo reads those names (and HLS names) for every weight.",
        "For fMoW GASSL torchgeo records no band names: TerraTorch's loader then copies no input channel",
        "(the first convolution stays at its random init), so the state dict is loaded directly there too.",
    ]
    notes += ["", *[f"Shim: {s}." for s in shims]] if shims else []
    worst = write_results(
        f"{family}_agreement", title, intro, rows, ["name", "weights", "bands", "loader"], meta, notes
    )
    print(f"worst max abs difference over {len(rows)} names: {worst:.3e} (target {TOL:g})")
