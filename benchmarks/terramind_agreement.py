"""Numerical agreement of geo-plugin-terramind with TerraTorch's TerraMind backbone (``TerraMindViT``).

The reference is TerraTorch's ``terratorch/models/backbones/terramind/model/`` folder, kept OUTSIDE
this repository (it needs ``einops``; its ``modality_info.py`` imports ``terramind/utils.py``, which
needs torchvision). Only those module files are loaded (not TerraTorch's package, registries or
tokenizers)::

    .venv/bin/python benchmarks/terramind_agreement.py --terratorch /work/ref/terratorch
    # or TERRATORCH_SRC=/work/ref/terratorch .venv/bin/python benchmarks/terramind_agreement.py

For each case the reference ``TerraMindViT`` is built with the variant's settings (TerraTorch's
``terramind_register.py``), gets random weights (perturbed away from its init), and its state dict is
written in the released layout: the encoder keys plus stand-ins for what the released
encoder-decoder files also hold (``decoder.*``, ``decoder_embeddings.*``, ``mask_token`` and the
embeddings of modalities the model was not built with), without ``missing_mod_token``. Our backbone
loads that file through its public builder and key filter; both run on the same multimodal input.
Reports the max absolute difference over every block's merged output and writes
benchmarks/results/terramind_agreement.md (and .json).

Target (shared/TARGETS.md): same outputs to 1e-5 from the same weights.
"""

from __future__ import annotations

import importlib
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import torch
from _terratorch_ref import TOL, agreement_args, commit, load_package, run_cases, write_results

# TerraTorch's terramind_register.py: (depth, dim, heads, biases, gated SwiGLU MLP)
VARIANTS = {
    "terramind_v1_tiny": (12, 192, 3, True, False),
    "terramind_v1_small": (12, 384, 6, True, False),
    "terramind_v1_base": (12, 768, 12, False, True),
    "terramind_v1_large": (24, 1024, 16, False, True),
}
CHANNELS = {"S2L2A": 12, "S2L1C": 13, "S1GRD": 2, "S1RTC": 2, "DEM": 1, "RGB": 3}
# pre-trained embeddings a released file holds, added when a case does not select them
UNUSED = {"S2L1C": "untok_sen2l1c@224", "S1RTC": "untok_sen1rtc@224", "RGB": "untok_sen2rgb@224"}


@dataclass
class Case:
    name: str
    variant: str
    modalities: tuple[str, ...]
    merge: str = "mean"
    size: tuple[int, int] = (224, 224)
    depth: int | None = None
    bands: dict[str, list[str]] | None = None


CASES = [
    Case("tiny, S2L2A + S1GRD + DEM + LULC tokens, mean, 224", "terramind_v1_tiny", ("S2L2A", "S1GRD", "DEM", "LULC")),
    Case("small, S2L2A + S1RTC, concat, 224", "terramind_v1_small", ("S2L2A", "S1RTC"), merge="concat"),
    Case("base (SwiGLU), S2L2A + S1GRD + NDVI tokens, mean, 224", "terramind_v1_base", ("S2L2A", "S1GRD", "NDVI")),
    Case("base, S2L1C + RGB, max, 224", "terramind_v1_base", ("S2L1C", "RGB"), merge="max"),
    Case(
        "base, S2L2A, mean, non-224 input 256x256 (bicubic position embedding)",
        "terramind_v1_base",
        ("S2L2A",),
        size=(256, 256),
    ),
    Case(
        "base, band selection by name (S2L2A: RED GREEN BLUE NIR_NARROW SWIR_1, S1GRD: VH), 224",
        "terramind_v1_base",
        ("S2L2A", "S1GRD"),
        bands={"S2L2A": ["RED", "GREEN", "BLUE", "NIR_NARROW", "SWIR_1"], "S1GRD": ["VH"]},
    ),
    Case(
        "large (SwiGLU), depth 8, S2L2A + S1GRD, concat, 224",
        "terramind_v1_large",
        ("S2L2A", "S1GRD"),
        merge="concat",
        depth=8,
    ),
]


def load_reference(src: str | Path) -> Any:
    """Import the reference ``model`` package from the checkout without running TerraTorch's package ``__init__``."""
    load_package(src, "terratorch/models/backbones/terramind", "terratorch.models.backbones.terramind")
    return importlib.import_module("terratorch.models.backbones.terramind.model.terramind_vit")


def reference_band_selection(path: Path) -> Any:
    """TerraTorch's ``select_modality_patch_embed_weights``, taken from ``terramind_register.py`` on its own.

    The module itself imports TerraTorch's registries and tokenizers (diffusers, huggingface_hub), so only
    this function's source is compiled, with the names it uses.
    """
    import ast
    import logging

    tree = ast.parse(path.read_text())
    fn = next(
        n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "select_modality_patch_embed_weights"
    )
    namespace: dict[str, Any] = {
        "nn": torch.nn,
        "logging": logging,
        "logger": logging.getLogger("terramind_ref"),
        "TerraMindViT": Any,
    }
    exec(compile(ast.Module(body=[fn], type_ignores=[]), str(path), "exec"), namespace)
    return namespace["select_modality_patch_embed_weights"]


PRETRAINED_BANDS = {
    "untok_sen2l2a@224": [
        "COASTAL_AEROSOL",
        "BLUE",
        "GREEN",
        "RED",
        "RED_EDGE_1",
        "RED_EDGE_2",
        "RED_EDGE_3",
        "NIR_BROAD",
        "NIR_NARROW",
        "WATER_VAPOR",
        "SWIR_1",
        "SWIR_2",
    ],
    "untok_sen1grd@224": ["VV", "VH"],
}  # TerraTorch's PRETRAINED_BANDS for the modalities the band case uses


def reference_model(ref: Any, case: Case) -> Any:
    from terratorch.models.backbones.terramind.model.tm_utils import LayerNorm  # the reference's own

    depth, dim, heads, bias, gated = VARIANTS[case.variant]
    return ref.TerraMindViT(
        modalities=list(case.modalities),
        merge_method=case.merge,
        encoder_depth=case.depth or depth,
        dim=dim,
        num_heads=heads,
        mlp_ratio=4,
        qkv_bias=bias,
        proj_bias=bias,
        mlp_bias=bias,
        norm_layer=partial(LayerNorm, eps=1e-6, bias=False),
        act_layer=torch.nn.SiLU if gated else torch.nn.GELU,
        gated_mlp=gated,
    )


def released_state_dict(model: Any, dim: int) -> dict[str, torch.Tensor]:
    """The reference's state dict as a released encoder-decoder file would hold it."""
    sd = {k: v.detach().clone() for k, v in model.state_dict().items() if k != "missing_mod_token"}
    g = torch.Generator().manual_seed(7)
    for mod, key in UNUSED.items():
        if f"encoder_embeddings.{key}.proj.weight" not in sd:
            sd[f"encoder_embeddings.{key}.proj.weight"] = torch.randn(dim, 256 * CHANNELS[mod], generator=g)
            sd[f"encoder_embeddings.{key}.mod_emb"] = torch.randn(1, 1, dim, generator=g)
    sd["mask_token"] = torch.randn(1, 1, dim, generator=g)
    sd["decoder_proj_context.weight"] = torch.randn(dim, dim, generator=g)
    sd["decoder.0.norm1.weight"] = torch.randn(dim, generator=g)
    sd["decoder_norm.weight"] = torch.randn(dim, generator=g)
    sd["decoder_embeddings.tok_sen2l2a@224.token_emb.weight"] = torch.randn(4, dim, generator=g)
    return sd


def make_input(case: Case, b: int = 2) -> dict[str, torch.Tensor]:
    h, w = case.size
    x: dict[str, torch.Tensor] = {}
    for m in case.modalities:
        if m in ("LULC", "NDVI"):
            x[m] = torch.randint(0, 4375, (b, h // 16, w // 16))
        else:
            x[m] = torch.randn(b, CHANNELS[m], h, w)
    return x


def run_case(ref: Any, case: Case, tmp: Path) -> dict[str, Any]:
    from geo_plugin_terramind import build_backbone

    torch.manual_seed(0)
    rm = reference_model(ref, case).eval()
    with torch.no_grad():
        for p in rm.parameters():
            p.add_(torch.randn_like(p) * 0.02)
    dim = VARIANTS[case.variant][1]
    ckpt = tmp / f"{case.variant}.pt"
    torch.save(released_state_dict(rm, dim), ckpt)
    kw: dict[str, Any] = {
        "modalities": list(case.modalities),
        "merge_method": case.merge,
        "ckpt_path": ckpt,
        "bands": case.bands,
    }
    if case.depth:
        kw["depth"] = case.depth
    ours = build_backbone(case.variant, **kw).eval()
    x = make_input(case)
    if case.bands:
        select = reference_band_selection(Path(ref.__file__).with_name("terramind_register.py"))
        rm = select(rm, case.bands, PRETRAINED_BANDS).eval()
        x = {m: t[:, : len(case.bands[m])] if m in case.bands else t for m, t in x.items()}
    t0 = time.perf_counter()
    with torch.no_grad():
        r_feats = rm({k: v.clone() for k, v in x.items()})
        o_feats = ours(x)
    elapsed = time.perf_counter() - t0
    assert len(r_feats) == len(o_feats), (len(r_feats), len(o_feats))
    diffs = [(r - o).abs().max().item() for r, o in zip(r_feats, o_feats, strict=True)]
    diff = max(diffs)
    del rm, ours
    return {
        "case": case.name,
        "variant": case.variant,
        "modalities": list(case.modalities),
        "merge": case.merge,
        "size": list(case.size),
        "depth": case.depth or "full",
        "outputs_compared": len(diffs),
        "outputs": f"{len(diffs)} blocks",
        "shape": list(o_feats[-1].shape),
        "output": str(tuple(o_feats[-1].shape)),
        "max_abs_diff": diff,
        "max_abs_value": max(r.abs().max().item() for r in r_feats),
        "passes": diff <= TOL,
        "seconds": round(elapsed, 2),
    }


def main() -> None:
    args = agreement_args(__doc__)
    ref = load_reference(args.terratorch)
    rows = run_cases(ref, CASES, run_case, args.only)
    if args.no_write:
        return
    src = commit(args.terratorch)
    meta = {"torch": torch.__version__, "terratorch": src, "threads": args.threads}
    intro = [
        "`.venv/bin/python benchmarks/terramind_agreement.py --terratorch /work/ref/terratorch`",
        f"(reference: TerraTorch @ {src}; torch {torch.__version__}, float32, CPU, {args.threads} threads; the",
        "reference files are kept outside the repository). TerraTorch's `TerraMindViT` gets random weights",
        "(perturbed away from its init); its state dict is written in the released layout (plus decoder keys",
        "and unused modality embeddings, as the released encoder-decoder files hold them) and loaded through",
        "`geo_plugin_terramind`'s builder and key filter. Same multimodal input (`LULC`/`NDVI` as token ids);",
        "difference over every block's merged output (all blocks; the last one layer-normed).",
        "The large variant is checked at depth 8 to keep memory low (same block code at every depth).",
        "The band-selection case applies TerraTorch's `select_modality_patch_embed_weights` (its source compiled",
        "alone from `terramind_register.py`) to the reference and `bands=` to geo's builder.",
    ]
    notes = [
        "Not compared: TerraTorch's `concat` with a missing modality appends the filler tokens after the present",
        "modalities (in input-dict order); geo puts the learnt `missing_mod_token` in the missing modality's own",
        "slot (in `modalities` order), so a model keeps its channel layout when a modality is absent.",
    ]
    title = "TerraMind agreement with TerraTorch"
    worst = write_results("terramind_agreement", title, intro, rows, ["case", "output"], meta, notes)
    print(f"worst max abs difference over {len(rows)} cases: {worst:.3e} (target {TOL:g})")


if __name__ == "__main__":
    main()
