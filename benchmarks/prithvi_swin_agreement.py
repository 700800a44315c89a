"""Numerical agreement of geo-plugin-prithvi's Prithvi Swin with TerraTorch's ``prithvi_swin_B`` / ``_L``.

The reference is TerraTorch's ``terratorch/models/backbones/`` folder, kept OUTSIDE this repository.
Only ``swin_encoder_decoder.py`` (the ``MMSegSwinTransformer``, needs timm), ``prithvi_swin.py`` (its
checkpoint filter and Swin -> mmseg key converter) and ``select_patch_embed_weights.py`` are loaded;
the TerraTorch package, registries and datasets are stubbed::

    .venv/bin/python benchmarks/prithvi_swin_agreement.py --terratorch /work/ref/terratorch

For each case TerraTorch's model gets random weights (perturbed away from its init); its state dict is
written in one of the two key conventions: **mmseg** (the model's own names under ``backbone.`` inside
a ``state_dict`` container, with a ``decode_head`` as mmseg segmentors save) or **Swin** (Microsoft's
names under ``encoder.``, patch-merging channels in Swin order, with ``decoder.`` and ``mask_token``
keys). A fresh TerraTorch model loads the file through TerraTorch's own ``checkpoint_filter_fn``; ours
through ``build_swin(ckpt_path=...)``. Both run on the same input in eval mode; the max absolute
difference is taken over every Swin block's output and the four stage feature maps, and written to
benchmarks/results/prithvi_swin_agreement.md (and .json).

Target (shared/TARGETS.md): same outputs to 1e-5 from the same weights.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from _terratorch_ref import TOL, agreement_args, commit, load_module, run_cases, stub_module, write_results

BASE = "terratorch/models/backbones"
HLS6 = ["BLUE", "GREEN", "RED", "NIR_NARROW", "SWIR_1", "SWIR_2"]
# TerraTorch's prithvi_swin.py model_args
SIZES = {"prithvi_swin_B": (128, (4, 8, 16, 32)), "prithvi_swin_L": (192, (6, 12, 24, 48))}


@dataclass
class Case:
    name: str
    variant: str
    layout: str  # mmseg | swin
    depths: tuple[int, ...] = (2, 2, 18, 2)
    size: tuple[int, int] = (224, 224)


CASES = [
    Case("Swin-B, mmseg convention (backbone. prefix, decode_head), 224", "prithvi_swin_B", "mmseg"),
    Case("Swin-B, Swin convention (encoder./decoder., merge order), 224", "prithvi_swin_B", "swin"),
    Case(
        "Swin-B, Swin convention, non-224 input 250x190 (window and merge padding)",
        "prithvi_swin_B",
        "swin",
        size=(250, 190),
    ),
    Case("Swin-L, depths 2-2-6-2, mmseg convention, 224", "prithvi_swin_L", "mmseg", depths=(2, 2, 6, 2)),
    Case("Swin-L, depths 2-2-6-2, Swin convention, 224", "prithvi_swin_L", "swin", depths=(2, 2, 6, 2)),
]


def load_reference(src: str | Path) -> Any:
    """Import TerraTorch's Swin files from the checkout ``src`` with the rest of the package stubbed."""

    class HLSBands:  # the enum's members as plain names
        BLUE, GREEN, RED, NIR_NARROW, SWIR_1, SWIR_2 = HLS6

        @staticmethod
        def try_convert_to_hls_bands_enum(b: Any) -> Any:
            return b

    def generate_bands_intervals(bands: Any) -> Any:
        out: list[Any] = []
        for b in bands:
            out.extend(range(b[0], b[1] + 1) if isinstance(b, tuple) else [b])
        return out

    bands = {"HLSBands": HLSBands, "OpticalBands": HLSBands, "SARBands": HLSBands}
    stub_module("terratorch.datasets", bands, package=True)
    stub_module(
        "terratorch.datasets.utils", {"HLSBands": HLSBands, "generate_bands_intervals": generate_bands_intervals}
    )
    load_module(src, f"{BASE}/swin_encoder_decoder.py", "terratorch.models.backbones.swin_encoder_decoder")
    return load_module(src, f"{BASE}/prithvi_swin.py", "terratorch.models.backbones.prithvi_swin")


def reference_model(ref: Any, case: Case) -> Any:
    from terratorch.models.backbones.swin_encoder_decoder import MMSegSwinTransformer

    dim, heads = SIZES[case.variant]
    return MMSegSwinTransformer(
        patch_size=4, window_size=7, embed_dim=dim, depths=case.depths, in_chans=6, num_heads=heads
    )


def write_layout(model: Any, layout: str, path: Path) -> None:
    from geo_plugin_prithvi._swin_checkpoint import mmseg_to_swin

    sd = {k: v.detach().clone() for k, v in model.state_dict().items() if not k.startswith("head.")}
    g = torch.Generator().manual_seed(5)
    if layout == "mmseg":
        obj: dict[str, Any] = {
            "state_dict": {
                **{f"backbone.{k}": v for k, v in sd.items()},
                "decode_head.conv_seg.weight": torch.randn(2, 8, 1, 1, generator=g),
            }
        }
    else:
        swin = {f"encoder.{k}": v for k, v in mmseg_to_swin(sd).items()}
        obj = {
            **swin,
            "encoder.mask_token": torch.randn(1, 1, 128, generator=g),
            "decoder.0.weight": torch.randn(8, 4, 1, 1, generator=g),
        }
    torch.save(obj, path)


def _blocks(model: Any, cls_name: str) -> list[Any]:
    return [m for m in model.modules() if type(m).__name__ == cls_name]


def run_case(ref: Any, case: Case, tmp: Path) -> dict[str, Any]:
    from geo_plugin_prithvi._swin_variants import build_swin

    torch.manual_seed(0)
    src = reference_model(ref, case)
    with torch.no_grad():
        for p in src.parameters():
            p.add_(torch.randn_like(p) * 0.02)
    path = tmp / f"{case.variant}_{case.layout}.pt"
    write_layout(src, case.layout, path)
    del src
    torch.manual_seed(1)
    rm = reference_model(ref, case)
    loaded = torch.load(path, map_location="cpu", weights_only=True)
    sd = ref.checkpoint_filter_fn(loaded, rm, HLS6, HLS6)
    res = rm.load_state_dict(sd, strict=False)
    real_missing = [k for k in res.missing_keys if not k.startswith("head.")]
    assert not real_missing, f"TerraTorch's filter left keys unloaded: {real_missing[:5]}"
    rm.eval()
    ours = build_swin(case.variant, ckpt_path=path, depths=case.depths).eval()

    r_out: list[torch.Tensor] = []
    o_out: list[torch.Tensor] = []
    for m in _blocks(rm, "SwinBlock"):
        m.register_forward_hook(lambda _m, _i, out: r_out.append(out))
    for m in _blocks(ours, "SwinBlock"):
        m.register_forward_hook(lambda _m, _i, out: o_out.append(out))
    x = torch.randn(2, 6, *case.size)
    t0 = time.perf_counter()
    with torch.no_grad():
        r_feats = [s[0].permute(0, 3, 1, 2) for s in _stage_outputs(rm, x)]
        o_feats = ours(x)
    elapsed = time.perf_counter() - t0
    assert len(r_out) == len(o_out) == sum(case.depths), (len(r_out), len(o_out))
    diffs = [(a - b).abs().max().item() for a, b in zip(r_out + r_feats, o_out + o_feats, strict=True)]
    return {
        "case": case.name,
        "variant": case.variant,
        "layout": case.layout,
        "depths": list(case.depths),
        "size": list(case.size),
        "outputs_compared": len(diffs),
        "outputs": f"{len(r_out)} blocks + {len(r_feats)} maps",
        "maps": ", ".join("x".join(str(d) for d in f.shape[1:]) for f in o_feats),
        "blocks": len(r_out),
        "feature_shapes": [list(f.shape) for f in o_feats],
        "max_abs_diff": max(diffs),
        "max_abs_value": max(f.abs().max().item() for f in r_out + r_feats),
        "passes": max(diffs) <= TOL,
        "seconds": round(elapsed, 2),
    }


def _stage_outputs(model: Any, x: torch.Tensor) -> list[Any]:
    """TerraTorch's stages as its timm feature wrapper taps them: the first element of each stage's tuple."""
    h = model.patch_embed(x)
    outs = []
    for stage in model.stages:
        h = stage(h)
        outs.append(h)
    return outs


def main() -> None:
    args = agreement_args(__doc__)
    ref = load_reference(args.terratorch)
    rows = run_cases(ref, CASES, run_case, args.only)
    if args.no_write:
        return
    import timm

    src = commit(args.terratorch)
    meta = {"torch": torch.__version__, "timm": timm.__version__, "terratorch": src, "threads": args.threads}
    intro = [
        "`.venv/bin/python benchmarks/prithvi_swin_agreement.py --terratorch /work/ref/terratorch`",
        f"(reference: TerraTorch @ {src}; its `MMSegSwinTransformer` uses timm {timm.__version__}; torch",
        f"{torch.__version__}, float32, CPU, {args.threads} threads; the reference files are kept outside the",
        "repository). TerraTorch's model gets random weights, written in the mmseg or the Swin key convention;",
        "a fresh TerraTorch model loads the file through TerraTorch's `checkpoint_filter_fn`, geo's through",
        "`build_swin(ckpt_path=...)`. Same input, eval mode; difference over every Swin block's output and",
        "the four stage feature maps. Swin-L is checked with depths 2-2-6-2 (memory; same blocks).",
    ]
    title = "Prithvi Swin agreement with TerraTorch"
    worst = write_results(
        "prithvi_swin_agreement", title, intro, rows, ["case", "maps"], meta, headers={"maps": "feature maps"}
    )
    print(f"worst max abs difference over {len(rows)} cases: {worst:.3e} (target {TOL:g})")


if __name__ == "__main__":
    main()
