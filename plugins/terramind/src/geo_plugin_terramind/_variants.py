"""Builders of the registered variants (``geo.backbones`` entry points).

Sizes, bands and weight files come from ``geo-plugin.toml`` (:mod:`._manifest`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from geo_core import CheckpointError, ConfigError, bind_variant, close_matches

from geo_plugin_terramind._checkpoint import (
    checkpoint_prefix,
    filter_state_dict,
    load_checkpoint_file,
    load_filtered,
    select_bands,
)
from geo_plugin_terramind._encoder import MergeMethod, ModalitySpec, TerraMindViT
from geo_plugin_terramind._manifest import backbone_config
from geo_plugin_terramind._modalities import canonical_modality

log = logging.getLogger("geo_plugin_terramind")

__all__ = [
    "build_backbone",
    "terramind_v1_base",
    "terramind_v1_large",
    "terramind_v1_small",
    "terramind_v1_tiny",
    "test_terramind_v1",
]


def _band(b: Any) -> str | int:
    b = getattr(b, "value", b)
    if isinstance(b, int) and not isinstance(b, bool):
        return b  # an unnamed band (TerraTorch: integers never match a pre-trained band)
    if not isinstance(b, str):
        raise ConfigError(f"band names must be strings (or integers for unnamed new bands), got {b!r}", key="bands")
    return b.strip().upper()


def _resolve_bands(
    variant: str,
    cfg: dict[str, Any],
    modalities: Sequence[ModalitySpec],
    bands: Mapping[str, Sequence[Any]] | None,
    loading: bool,
) -> dict[str, tuple[str, list[str], list[str | int]]]:
    """``{layer key: (modality name, pretrained bands, model bands)}`` for the modalities given bands."""
    names = [m for spec in modalities for m in (spec if isinstance(spec, Mapping) else [spec])]
    out: dict[str, tuple[str, list[str], list[str | int]]] = {}
    for given, wanted in (bands or {}).items():
        match = [n for n in names if n == given]
        if not match:
            try:
                mod = canonical_modality(str(given))
                match = [n for n in names if not isinstance(n, Mapping) and canonical_modality(str(n)) == mod]
            except ConfigError:
                match = []
        if not match:
            raise ConfigError(f"bands names modality {given!r}, which is not in modalities={list(names)}", key="bands")
        try:
            mod = canonical_modality(str(match[0]))
            pre = list(cfg["bands"].get(mod.name, []))
            key = mod.key
        except ConfigError:  # a new modality: no pretrained bands
            mod, pre, key = None, [], str(match[0])  # type: ignore[assignment]
        if mod is not None and mod.kind == "tokens":
            raise ConfigError(f"{given} is a tokenized modality; it has no bands to select", key="bands")
        chosen = [_band(b) for b in wanted]
        if not chosen or len(set(chosen)) != len(chosen):
            raise ConfigError(f"bands[{given!r}] must list distinct band names, got {list(wanted)}", key="bands")
        unnamed = [b for b in chosen if isinstance(b, int)]
        if unnamed and pre and loading:
            log.warning(
                "%s: bands[%r] gives integers %s: like TerraTorch, integers never match a pre-trained band, so these "
                "bands start from random weights; name them (%s) to load the pre-trained weights",
                variant,
                given,
                unnamed,
                pre,
            )
        for b in chosen:
            close = [] if not isinstance(b, str) or b in pre else close_matches(b, pre, n=3, cutoff=0.7)
            if close:
                raise ConfigError(
                    f"{variant}: unknown {given} band {b!r}; did you mean {' or '.join(map(repr, close))}? "
                    f"Pre-trained {given} bands: {pre}. A genuinely new band needs a name that is not a near-miss",
                    key="bands",
                )
        out[key] = (str(match[0]), pre, chosen)
    return out


def _weights_file(variant: str, cfg: dict[str, Any]) -> str:
    table = cfg.get("weights")
    if not table:
        raise CheckpointError(
            f"{variant} has no released weights; pass ckpt_path=<file> (backbone_ckpt_path in a model config) "
            "or build it with pretrained=False"
        )
    try:
        from geo_core.weights import WeightRef, fetch_weights
    except ImportError as exc:  # geo-core before the shared weights layer
        raise CheckpointError(
            f"{variant}: this geo-core cannot fetch weights; download {table.get('filename')} from "
            f"https://huggingface.co/{table.get('hf_repo')} and pass ckpt_path=<file>"
        ) from exc
    return str(fetch_weights(WeightRef.from_mapping(table), name=f"terramind:{variant}"))


def build_backbone(
    variant: str,
    *,
    modalities: Sequence[ModalitySpec] | None = None,
    pretrained: bool = False,
    ckpt_path: str | os.PathLike[str] | None = None,
    bands: Mapping[str, Sequence[Any]] | None = None,
    merge_method: MergeMethod = "mean",
    out_indices: Sequence[int] | None = None,
    img_size: int = 224,
    num_register_tokens: int = 0,
    drop_path_rate: float = 0.0,
    modality_drop_rate: float = 0.0,
    depth: int | None = None,
) -> TerraMindViT:
    """Build a TerraMind encoder, optionally loading the released or a local checkpoint.

    Args:
        variant: A ``[backbone.*]`` name of the manifest, e.g. ``terramind_v1_base``.
        modalities: Input modalities: pre-trained names (``S2L2A``, ``S2L1C``, ``S1GRD``, ``S1RTC``,
            ``DEM``, ``RGB``, ``NDVI``, ``LULC``) and/or ``{new_name: channels}`` (default ``['S2L2A']``).
        pretrained: Load the released weights (through ``geo_core.weights``), or ``ckpt_path``.
        ckpt_path: A released-layout or own state dict; implies loading.
        bands: ``{modality: [band names]}``: the input bands, in order. Pre-trained patch-embedding
            weights are picked by name; other bands start from random weights (logged).
        merge_method: ``mean``, ``max`` or ``concat`` across modalities.
        out_indices: Blocks to return (default all; the manifest's ``out_indices`` suit pyramid decoders).
        img_size: Size of the stored position embedding (other sizes are resized to).
        num_register_tokens: Extra learnt tokens (not in the released weights).
        drop_path_rate: Stochastic depth.
        modality_drop_rate: Drop modalities at random in training.
        depth: Fewer blocks (tests, agreement checks at reduced depth); a full checkpoint then fails to load.

    Raises:
        CheckpointError: Weights asked for but not found, or not fitting the model (keys named).
        ConfigError: Unknown modalities, misspelt band names or contradictory arguments.
    """
    cfg = backbone_config(variant)
    modalities = list(modalities) if modalities is not None else list(cfg["default_modalities"])
    if isinstance(modalities, str):
        modalities = [modalities]
    selected = _resolve_bands(variant, cfg, modalities, bands, pretrained or ckpt_path is not None)
    model = TerraMindViT(
        modalities,
        channels={k: len(v[2]) for k, v in selected.items()},
        merge_method=merge_method,
        dim=cfg["dim"],
        depth=cfg["depth"] if depth is None else depth,
        num_heads=cfg["num_heads"],
        mlp_ratio=cfg["mlp_ratio"],
        gated_mlp=cfg["gated_mlp"],
        bias=cfg["bias"],
        img_size=img_size,
        patch_size=cfg["patch_size"],
        num_register_tokens=num_register_tokens,
        drop_path_rate=drop_path_rate,
        modality_drop_rate=modality_drop_rate,
        out_indices=out_indices,
    )
    if ckpt_path is None and not pretrained:
        return model
    source = str(ckpt_path) if ckpt_path is not None else _weights_file(variant, cfg)
    raw = load_checkpoint_file(source)
    sd = filter_state_dict(raw, model)
    for key, (_, pre, chosen) in selected.items():
        if pre:
            select_bands(sd, model, key, pre, chosen)
    load_filtered(model, sd, source, checkpoint_prefix(list(raw)))
    return model


def _variant(name: str, doc: str) -> Callable[..., TerraMindViT]:
    """A builder for one variant with :func:`build_backbone`'s keyword signature (config checks see every argument)."""
    return bind_variant(
        build_backbone, name, doc=f"{doc}\n\nArguments: see :func:`geo_plugin_terramind.build_backbone`."
    )


test_terramind_v1 = _variant("test_terramind_v1", "Tiny TerraMind encoder for tests (32 wide, 4 blocks).")
terramind_v1_tiny = _variant("terramind_v1_tiny", "TerraMind 1.0 tiny encoder (192 wide, 12 blocks).")
terramind_v1_small = _variant("terramind_v1_small", "TerraMind 1.0 small encoder (384 wide, 12 blocks).")
terramind_v1_base = _variant("terramind_v1_base", "TerraMind 1.0 base encoder (768 wide, 12 blocks, SwiGLU).")
terramind_v1_large = _variant("terramind_v1_large", "TerraMind 1.0 large encoder (1024 wide, 24 blocks, SwiGLU).")
