"""Numerical agreement of geo-plugin-prithvi with TerraTorch's Prithvi implementation.

The reference is TerraTorch's ``terratorch/models/backbones/prithvi_mae.py``, read from a checkout kept
OUTSIDE this repository (it needs ``einops`` and ``timm``)::

    .venv/bin/python benchmarks/prithvi_agreement.py --terratorch /work/ref/terratorch
    # or TERRATORCH_SRC=/work/ref/terratorch .venv/bin/python benchmarks/prithvi_agreement.py

For each case the reference model gets random weights (perturbed away from its init), its state
dict is written in the official layout (v2: ``encoder.``/``decoder.`` prefixes; v1: flat), our model
loads that file through its public builder and key filter, and both run on the same input. Reports
the max absolute difference over every block output (encoder) or the reconstruction (MAE), and
writes benchmarks/results/prithvi_agreement.md (and .json).

Target (shared/TARGETS.md): same outputs to 1e-5 from the same weights.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from _terratorch_ref import TOL, agreement_args, commit, load_module, run_cases, write_results


@dataclass
class Case:
    name: str
    variant: str
    frames: int = 1
    size: tuple[int, int] = (224, 224)
    depth: int | None = None  # None: the full depth of the variant
    layout: str = "v2"  # v2 (encoder./decoder.) or v1 (flat)
    mae: bool = False
    pos_embed_mode: str = "recompute"
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


CASES = [
    Case("tiny, 1 frame, 224", "prithvi_eo_tiny"),
    Case("v1 100M (v1 flat layout), 3 frames, 224", "prithvi_eo_v1_100", frames=3, layout="v1"),
    Case("v2 tiny-TL, time+location coords, 224", "prithvi_eo_v2_tiny_tl"),
    Case("v2 100M-TL, 4 frames, time+location coords, 224", "prithvi_eo_v2_100_tl", frames=4),
    Case("v2 300M-TL, 2 frames, time+location coords, 224", "prithvi_eo_v2_300_tl", frames=2),
    Case("v2 600M (patch 14), depth 8, 1 frame, 224", "prithvi_eo_v2_600", depth=8),
    Case(
        "v2 300M, non-224 input 256x192, pos_embed_mode=interpolate",
        "prithvi_eo_v2_300",
        size=(256, 192),
        depth=8,
        pos_embed_mode="interpolate",
    ),
    Case(
        "v2 300M, non-224 input 256x192, pos_embed_mode=recompute (geo default; NOT expected to match)",
        "prithvi_eo_v2_300",
        size=(256, 192),
        depth=8,
        note="informational",
    ),
    Case("MAE v2 300M-TL, 2 frames, mask 0.75, same noise", "prithvi_eo_v2_300_tl", frames=2, depth=8, mae=True),
    Case("MAE v1 100M (v1 flat layout), 3 frames, same noise", "prithvi_eo_v1_100", frames=3, layout="v1", mae=True),
]


def load_reference(src: str | Path) -> Any:
    return load_module(src, "terratorch/models/backbones/prithvi_mae.py", "terratorch.models.backbones.prithvi_mae")


def reference_model(ref: Any, case: Case) -> Any:
    from geo_plugin_prithvi._manifest import mae_config

    cfg = mae_config(case.variant)
    depth = case.depth or cfg["depth"]
    return ref.PrithviMAE(
        img_size=cfg["img_size"],
        patch_size=tuple(cfg["patch_size"]),
        num_frames=case.frames,
        in_chans=6,
        embed_dim=cfg["embed_dim"],
        depth=depth,
        num_heads=cfg["num_heads"],
        decoder_embed_dim=cfg["decoder_embed_dim"],
        decoder_depth=min(cfg["decoder_depth"], 2),
        decoder_num_heads=cfg["decoder_num_heads"],
        mlp_ratio=cfg["mlp_ratio"],
        coords_encoding=list(cfg["coords_encoding"]),
        coords_scale_learn=bool(cfg["coords_encoding"]),
    )


def official_state_dict(model: Any, layout: str) -> dict[str, torch.Tensor]:
    sd = {k: v.detach().clone() for k, v in model.state_dict().items()}
    if layout == "v2":
        return sd
    # v1 release: one flat MAE namespace (patch_embed.*, blocks.*, decoder_*, mask_token)
    return {k.split(".", 1)[1]: v for k, v in sd.items()}


def run_case(ref: Any, case: Case, tmp: Path) -> dict[str, Any]:
    from geo_plugin_prithvi import build_backbone, build_mae

    torch.manual_seed(0)
    rm = reference_model(ref, case).eval()
    with torch.no_grad():
        for p in rm.parameters():
            p.add_(torch.randn_like(p) * 0.02)
    ckpt = tmp / f"{case.variant}_{case.layout}.pt"
    torch.save(official_state_dict(rm, case.layout), ckpt)
    common = dict(ckpt_path=ckpt, num_frames=case.frames, pos_embed_mode=case.pos_embed_mode)
    if case.depth:
        common["depth"] = case.depth
    if case.mae:
        ours = build_mae(case.variant, decoder_depth=min(rm.decoder.decoder_blocks.__len__(), 2), **common).eval()
    else:
        ours = build_backbone(case.variant, **common).eval()

    b = 2
    shape = (b, 6, case.frames, *case.size) if case.frames > 1 or case.mae else (b, 6, *case.size)
    x = torch.randn(shape)
    kw: dict[str, Any] = {}
    if getattr(rm.encoder, "temporal_encoding", False):
        kw["temporal_coords"] = torch.tensor([[[2020.0 + t, 30.0 + 50 * t] for t in range(case.frames)]] * b)
    if getattr(rm.encoder, "location_encoding", False):
        kw["location_coords"] = torch.tensor([[38.9, -77.0], [-12.5, 130.8]])
    t0 = time.perf_counter()
    with torch.no_grad():
        if case.mae:
            torch.manual_seed(1)
            r_loss, r_pred, r_mask = rm(x, mask_ratio=0.75, **kw)
            r_loss = r_loss["loss"] if isinstance(r_loss, dict) else r_loss
            torch.manual_seed(1)
            o_loss, o_pred, o_mask = ours.reconstruct(x, mask_ratio=0.75, **kw)
            diff = max((r_pred - o_pred).abs().max().item(), (r_loss - o_loss).abs().item())
            mask_equal = bool(torch.equal(r_mask, o_mask))
            scale = r_pred.abs().max().item()
            outputs = 1
        else:
            r_feats = rm.encoder.forward_features(x, **kw)
            o_feats = ours.forward_features(x, **kw)
            diff = max((r - o).abs().max().item() for r, o in zip(r_feats, o_feats, strict=True))
            scale = max(r.abs().max().item() for r in r_feats)
            mask_equal = True
            outputs = len(r_feats)
    elapsed = time.perf_counter() - t0
    return {
        "case": case.name,
        "variant": case.variant,
        "layout": case.layout,
        "frames": case.frames,
        "size": list(case.size),
        "depth": case.depth or "full",
        "outputs_compared": outputs,
        "outputs": "reconstruction + loss" if case.mae else f"{outputs} blocks",
        "max_abs_diff": diff,
        "max_abs_value": scale,
        "mask_equal": mask_equal,
        "informational": bool(case.note),
        "passes": (diff <= TOL and mask_equal) if not case.note else None,
        "seconds": round(elapsed, 2),
    }


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
        "`.venv/bin/python benchmarks/prithvi_agreement.py --terratorch /work/ref/terratorch`",
        f"(reference: TerraTorch @ {src}, `terratorch/models/backbones/prithvi_mae.py`, which builds its blocks",
        f"from timm {timm.__version__}; torch {torch.__version__}, float32, CPU, {args.threads} threads; the",
        "reference file is read from the checkout outside the repository). Same random weights (written in the",
        "official checkpoint layout and loaded through `geo_plugin_prithvi`'s key filter), same input; difference",
        "over every block output of the encoder, or over the reconstruction and loss of the MAE with the same",
        "masking noise (MAE decoders cut to 2 blocks). Weights are perturbed away from the initialisation",
        "(biases, norms, encoding scales non-trivial).",
    ]
    notes = [
        "The `recompute` row is informational: for sizes other than the stored 224 grid geo recomputes the",
        "fixed sin-cos embedding for the real token grid by default, whereas TerraTorch resamples the 224 grid",
        'bicubically; `pos_embed_mode="interpolate"` reproduces TerraTorch (row above it).',
    ]
    title = "Prithvi agreement with TerraTorch"
    worst = write_results("prithvi_agreement", title, intro, rows, ["case", "layout", "depth"], meta, notes)
    print(f"worst max abs difference over the checked cases: {worst:.3e} (target {TOL:g})")


if __name__ == "__main__":
    main()
