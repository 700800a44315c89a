"""Numerical agreement of geo-plugin-clay with TerraTorch's Clay v1 and v1.5 encoders.

The reference is TerraTorch's own module files, read from a checkout kept OUTSIDE this repository
(``terratorch/models/backbones/clay_v1/{utils,modules}.py`` and ``clay_v15/{utils,factory,backbone,model}.py``;
they need ``einops``, ``timm`` and ``torchvision``)::

    .venv/bin/python benchmarks/clay_agreement.py --terratorch /work/ref/terratorch
    # or TERRATORCH_REF=/work/ref/terratorch .venv/bin/python benchmarks/clay_agreement.py

For each case the reference encoder (v1: ``EmbeddingEncoder``, what TerraTorch's ``clay_v1_base`` wraps;
v1.5: ``Encoder`` of ``clay_v15/model.py`` with mask ratio 0 and no shuffling, as used for embeddings)
gets random weights perturbed away from its initialisation; its state dict is written in the released
Lightning layout (``{"state_dict": {"model.encoder.*", "model.decoder.*"}}``); geo's model loads that
file through ``build_backbone(..., ckpt_path=...)`` and both run on the same pixels and metadata. The
max absolute difference is taken over every block's output (TerraTorch v1 returns them; for v1.5 the
reference's own layers are run one by one and its final output is compared too).

Writes benchmarks/results/clay_agreement.md (and .json). Target: 1e-5.
"""

from __future__ import annotations

import gc
import time
import types
from dataclasses import dataclass
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

PKG = "terratorch.models.backbones"
BASE = "terratorch/models/backbones"


@dataclass
class Case:
    name: str
    variant: str
    version: str  # v1 | v1.5
    bands: tuple[str, ...] = ("blue", "green", "red", "nir", "swir16", "swir22")
    size: int = 256
    depth: int | None = None  # None: the variant's full depth
    metadata: bool = True  # random time/latlon and an explicit GSD; False: every default (TerraTorch's Datacuber)


CASES = [
    Case("clay_test (tiny), 6 S2 bands, 64x64, metadata", "clay_test", "v1", size=64),
    Case("clay_v1_base, 6 S2 bands, 256x256, time+latlon+gsd 10", "clay_v1_base", "v1"),
    Case(
        "clay_v1_base, 4 HLS bands, 224x224, defaults (zeros, gsd 1)",
        "clay_v1_base",
        "v1",
        bands=("BLUE", "GREEN", "RED", "NIR_NARROW"),
        size=224,
        metadata=False,
    ),
    Case(
        "clay_v15_tiny, 10 S2 bands, 128x128, metadata",
        "clay_v15_tiny",
        "v1.5",
        bands=("blue", "green", "red", "rededge1", "rededge2", "rededge3", "nir", "nir08", "swir16", "swir22"),
        size=128,
    ),
    Case("clay_v15_small, 6 S2 bands, 128x128, metadata", "clay_v15_small", "v1.5", size=128),
    Case("clay_v15_base, 6 S2 bands, 256x256, metadata", "clay_v15_base", "v1.5"),
    Case("clay_v15_large, depth 12 of 24, 6 S2 bands, 256x256, metadata", "clay_v15_large", "v1.5", depth=12),
    Case(
        "clay_v15_large, S1 vv+vh, depth 12 of 24, 128x128, metadata",
        "clay_v15_large",
        "v1.5",
        bands=("vv", "vh"),
        size=128,
        depth=12,
    ),
]


def load_reference(root: str | Path) -> dict[str, types.ModuleType]:
    """Import TerraTorch's Clay files under their own module names, without importing TerraTorch itself."""
    for pkg in (f"{PKG}.clay_v1", f"{PKG}.clay_v15"):
        stub_module(pkg, package=True)
    load_module(root, f"{BASE}/clay_v1/utils.py", f"{PKG}.clay_v1.utils")
    v1 = load_module(root, f"{BASE}/clay_v1/modules.py", f"{PKG}.clay_v1.modules")
    for name in ("utils", "factory", "backbone"):
        load_module(root, f"{BASE}/clay_v15/{name}.py", f"{PKG}.clay_v15.{name}")
    v15 = load_module(root, f"{BASE}/clay_v15/model.py", f"{PKG}.clay_v15.model")
    torch.set_float32_matmul_precision("highest")  # clay_v15/model.py sets "medium" on import; compare in fp32
    return {"v1": v1, "v1.5": v15}


def reference_model(ref: dict[str, types.ModuleType], case: Case, cfg: dict[str, Any]) -> Any:
    size = dict(
        patch_size=cfg["patch_size"],
        dim=cfg["embed_dim"],
        depth=case.depth or cfg["depth"],
        heads=cfg["num_heads"],
        dim_head=cfg["dim_head"],
        mlp_ratio=cfg["mlp_ratio"],
    )
    if case.version == "v1":
        return ref["v1"].EmbeddingEncoder(img_size=case.size, **size)
    return ref["v1.5"].Encoder(mask_ratio=0.0, shuffle=False, **size)


def reference_blocks(rm: Any, case: Case, cube: dict[str, Any]) -> list[torch.Tensor]:
    if case.version == "v1":
        return list(rm(cube))
    # v1.5's Transformer returns only the normed final tokens: run its own layers one by one for every block,
    # and check that the last one (normed) equals the reference's forward.
    patches, _ = rm.to_patch_embed(cube["pixels"], cube["waves"])
    patches = rm.add_encodings(patches, cube["time"], cube["latlon"], cube["gsd"])
    x = torch.cat((rm.cls_token.expand(patches.shape[0], -1, -1), patches), dim=1)
    outs = []
    for attn, ff in rm.transformer.layers:
        x = attn(x) + x
        x = ff(x) + x
        outs.append(x)
    outs[-1] = rm.transformer.norm(x)
    final = rm(cube)[0]
    assert torch.equal(final, outs[-1]), "the layer-by-layer run differs from the reference forward"
    return outs


def run_case(ref: dict[str, types.ModuleType], case: Case, tmp: Path) -> dict[str, Any]:
    from geo_plugin_clay import WAVELENGTHS, backbone_config, build_backbone

    cfg = backbone_config(case.variant)
    torch.manual_seed(0)
    rm = reference_model(ref, case, cfg).eval()
    with torch.no_grad():
        for p in rm.parameters():
            p.add_(torch.randn_like(p) * 0.02)
    sd = {f"model.encoder.{k}": v.detach().clone() for k, v in rm.state_dict().items()}
    sd["model.decoder.mask_patch"] = torch.randn(8)  # decoder / teacher keys of the release are dropped
    ckpt = tmp / f"{case.variant}.ckpt"
    torch.save({"state_dict": sd, "epoch": 0}, ckpt)
    del sd  # keep one copy of the weights per side in memory (< 4 GB per process)
    gc.collect()
    kw: dict[str, Any] = {"ckpt_path": ckpt, "bands": list(case.bands)}
    if case.depth:
        kw["depth"] = case.depth
    ours = build_backbone(case.variant, **kw).eval()

    b = 2
    x = torch.randn(b, len(case.bands), case.size, case.size)
    waves = torch.tensor([WAVELENGTHS[n] for n in case.bands])
    if case.metadata:
        time_ = torch.randn(b, 4).clamp(-1, 1)
        latlon = torch.randn(b, 4).clamp(-1, 1)
        gsd = 10.0
        our_kw: dict[str, Any] = {"time": time_, "latlon": latlon, "gsd": gsd}
    else:  # TerraTorch's Datacuber defaults: zeros, gsd 1.0, wavelengths looked up by band name
        time_, latlon, gsd = torch.zeros(b, 4), torch.zeros(b, 4), cfg["gsd"]
        our_kw = {}
    cube = {
        "pixels": x,
        "time": time_,
        "latlon": latlon,
        "waves": waves,
        "gsd": torch.tensor(gsd) if case.version == "v1.5" else gsd,
    }
    t0 = time.perf_counter()
    with torch.no_grad():
        r_feats = reference_blocks(rm, case, cube)
        o_feats = ours(x, **our_kw)
    elapsed = time.perf_counter() - t0
    diffs = [(r - o).abs().max().item() for r, o in zip(r_feats, o_feats, strict=True)]
    return {
        "case": case.name,
        "variant": case.variant,
        "version": case.version,
        "bands": list(case.bands),
        "size": case.size,
        "depth": case.depth or cfg["depth"],
        "full_depth": cfg["depth"],
        "depth_shown": shown_depth(case.depth or cfg["depth"], cfg["depth"]),
        "outputs": f"{len(diffs)} blocks",
        "max_abs_diff": max(diffs),
        "max_abs_value": max(r.abs().max().item() for r in r_feats),
        "passes": max(diffs) <= TOL,
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
        "`.venv/bin/python benchmarks/clay_agreement.py --terratorch /work/ref/terratorch`",
        f"(reference: TerraTorch @ {src}, `clay_v1/modules.py` `EmbeddingEncoder` and `clay_v15/model.py` `Encoder`",
        f"loaded from the checkout, outside the repository; torch {torch.__version__}, float32, CPU,",
        f"{args.threads} threads). Same random weights, perturbed away from the initialisation and written in the",
        "released Lightning layout (`state_dict` -> `model.encoder.*`, plus a decoder key that must be dropped),",
        "loaded through `geo_plugin_clay.build_backbone(ckpt_path=...)`; same pixels, time, lat/lon, GSD and",
        "wavelengths. Difference over every block's output.",
    ]
    notes = [
        "`clay_v15_large` is checked at 12 of its 24 layers to keep the process under 4 GB (every layer has the",
        "same code; the full-size embedding and weight generator are included). TerraTorch registers only",
        "`clay_v1_base` as a backbone; its v1.5 code is the `ClayMAE` of `clay_v15/model.py` (sizes",
        "`clay_mae_tiny/small/base/large`), whose encoder is compared here.",
    ]
    columns = ["case", "version", "depth_shown"]
    title = "Clay agreement with TerraTorch"
    worst = write_results("clay_agreement", title, intro, rows, columns, meta, notes, {"depth_shown": "depth"})
    print(f"worst max abs difference over {len(rows)} cases: {worst:.3e} (target {TOL:g})")


if __name__ == "__main__":
    main()
