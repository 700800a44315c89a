"""Builders of the registered variants (``geo.backbones`` and ``geo.models`` entry points).

Sizes, bands and weight files come from ``geo-plugin.toml`` (:mod:`._manifest`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from typing import Any

from geo_core import ConfigError, bind_variant

from geo_plugin_prithvi._bands import Band, normalize_bands
from geo_plugin_prithvi._checkpoint import filter_encoder_state_dict, filter_mae_state_dict, load_filtered
from geo_plugin_prithvi._encoder import CoordsEncoding, PosEmbedMode, PrithviViT
from geo_plugin_prithvi._mae import PrithviMAE
from geo_plugin_prithvi._manifest import backbone_config, mae_config
from geo_plugin_prithvi._weights import find_weights, load_checkpoint_file

__all__ = ["build_backbone", "build_mae"]

log = logging.getLogger("geo_plugin_prithvi")


def _resolve(
    variant: str,
    cfg: dict[str, Any],
    *,
    bands: Sequence[Any] | None,
    pretrained_bands: Sequence[Any] | None,
    in_chans: int | None,
    pretrained: bool | None,
    ckpt_path: str | os.PathLike[str] | None,
) -> tuple[list[Band], list[Band], bool]:
    pre = normalize_bands(pretrained_bands or cfg["bands"], cfg["bands"])
    if bands is None:
        if in_chans is not None and in_chans != len(pre):
            raise ConfigError(
                f"{variant}: in_chans={in_chans} but no band names; pass bands=[...] so pretrained weights can be "
                f"matched by name (pretrained bands: {[str(b) for b in pre]})",
                key="bands",
            )
        model_bands = list(pre)
        log.info("%s: bands not given; assuming the pretrained order %s", variant, [str(b) for b in pre])
    else:
        model_bands = normalize_bands(bands, pre)
        if in_chans is not None and in_chans != len(model_bands):
            raise ConfigError(f"{variant}: in_chans={in_chans} but {len(model_bands)} bands given", key="in_chans")
    if pretrained is False and ckpt_path is not None:
        raise ConfigError(
            f"{variant}: ckpt_path={str(ckpt_path)!r} given with pretrained=False; drop one of them", key="ckpt_path"
        )
    load = bool(pretrained) or ckpt_path is not None
    return pre, model_bands, load


def _encoder_kwargs(cfg: dict[str, Any], n_bands: int, overrides: dict[str, Any]) -> dict[str, Any]:
    kw: dict[str, Any] = {
        "in_chans": n_bands,
        "embed_dim": cfg["embed_dim"],
        "depth": cfg["depth"],
        "num_heads": cfg["num_heads"],
        "mlp_ratio": cfg["mlp_ratio"],
        "patch_size": tuple(cfg["patch_size"]),
        "img_size": cfg["img_size"],
        "coords_encoding": tuple(cfg["coords_encoding"]),
        "coords_scale_learn": bool(cfg["coords_encoding"]),
    }
    kw.update({k: v for k, v in overrides.items() if v is not None})
    return kw


def _checkpoint_source(variant: str, cfg: dict[str, Any], ckpt_path: str | os.PathLike[str] | None) -> str:
    if ckpt_path is not None:
        return str(ckpt_path)
    table = cfg.get("weights") or {}
    return str(find_weights(variant, table.get("hf_repo", ""), table.get("filename", "")))


def build_backbone(
    variant: str,
    *,
    pretrained: bool | None = None,
    ckpt_path: str | os.PathLike[str] | None = None,
    bands: Sequence[Any] | None = None,
    pretrained_bands: Sequence[Any] | None = None,
    in_chans: int | None = None,
    num_frames: int = 1,
    img_size: int | Sequence[int] | None = None,
    out_indices: Sequence[int] | None = None,
    coords_encoding: Sequence[CoordsEncoding] | None = None,
    coords_scale_learn: bool | None = None,
    drop_path: float = 0.0,
    pos_embed_mode: PosEmbedMode = "recompute",
    embed_dim: int | None = None,
    depth: int | None = None,
    num_heads: int | None = None,
    mlp_ratio: float | None = None,
    patch_size: int | Sequence[int] | None = None,
) -> PrithviViT:
    """Build a Prithvi-EO encoder, optionally loading released or local weights.

    Args:
        variant: A ``[backbone.*]`` name of the manifest, e.g. ``prithvi_eo_v2_300``.
        pretrained: Load weights: from ``ckpt_path`` or else the released file (a local copy, or fetched
            from Hugging Face and cached; see :func:`geo_plugin_prithvi.find_weights`). Default: load only
            when ``ckpt_path`` is given.
        ckpt_path: A checkpoint in a released layout (v1, v2 MAE) or an encoder state dict.
        bands: Band names of the input, in order. Pretrained patch-embedding weights are matched by
            name; other bands start from random weights (logged). Default: the pretrained bands.
        pretrained_bands: Band order of the checkpoint (default: the six HLS bands).
        in_chans: Only as a check against ``len(bands)``.
        num_frames: Frames per sample the model is built for (sets ``effective_time_dim``).
        img_size: Size of the stored position embedding (default 224; any size runs).
        out_indices: Blocks to return (default: every block; the manifest's ``out_indices`` are
            the recommended four for pyramid decoders).
        coords_encoding: Override the variant's ``["time", "location"]`` encodings.
        coords_scale_learn: Override whether the encoding scales are learnt.
        drop_path: Stochastic-depth rate.
        pos_embed_mode: ``recompute`` or ``interpolate`` (TerraTorch) for other input sizes.
        embed_dim: Override (e.g. for depth-reduced test models).
        depth: Override the number of blocks (checkpoints with more blocks then fail to load).
        num_heads: Override.
        mlp_ratio: Override.
        patch_size: Override ``(tubelet, patch, patch)``.

    Raises:
        CheckpointError: Weights asked for but not found, or not fitting the model.
        ConfigError: Misspelt band names or contradictory arguments.
    """
    cfg = backbone_config(variant)
    pre, model_bands, load = _resolve(
        variant,
        cfg,
        bands=bands,
        pretrained_bands=pretrained_bands,
        in_chans=in_chans,
        pretrained=pretrained,
        ckpt_path=ckpt_path,
    )
    kw = _encoder_kwargs(
        cfg,
        len(model_bands),
        {
            "num_frames": num_frames,
            "img_size": img_size,
            "out_indices": out_indices,
            "coords_encoding": None if coords_encoding is None else tuple(coords_encoding),
            "coords_scale_learn": coords_scale_learn,
            "drop_path": drop_path,
            "pos_embed_mode": pos_embed_mode,
            "embed_dim": embed_dim,
            "depth": depth,
            "num_heads": num_heads,
            "mlp_ratio": mlp_ratio,
            "patch_size": patch_size,
        },
    )
    model = PrithviViT(**kw)
    if load:
        source = _checkpoint_source(variant, cfg, ckpt_path)
        sd = filter_encoder_state_dict(load_checkpoint_file(source), model, pre, model_bands, source)
        load_filtered(model, sd, source)
    model.variant = variant  # type: ignore[assignment]
    model.bands = model_bands  # type: ignore[assignment]
    model.pretrained_bands = pre  # type: ignore[assignment]
    return model


def build_mae(
    variant: str,
    *,
    pretrained: bool | None = None,
    ckpt_path: str | os.PathLike[str] | None = None,
    bands: Sequence[Any] | None = None,
    pretrained_bands: Sequence[Any] | None = None,
    in_chans: int | None = None,
    num_frames: int | None = None,
    img_size: int | Sequence[int] | None = None,
    coords_encoding: Sequence[CoordsEncoding] | None = None,
    coords_scale_learn: bool | None = None,
    drop_path: float = 0.0,
    pos_embed_mode: PosEmbedMode = "recompute",
    mask_ratio: float = 0.75,
    norm_pix_loss: bool = False,
    embed_dim: int | None = None,
    depth: int | None = None,
    num_heads: int | None = None,
    mlp_ratio: float | None = None,
    patch_size: int | Sequence[int] | None = None,
    decoder_embed_dim: int | None = None,
    decoder_depth: int | None = None,
    decoder_num_heads: int | None = None,
) -> PrithviMAE:
    """Build a Prithvi-EO masked autoencoder (encoder + decoder); arguments as :func:`build_backbone`.

    ``num_frames`` defaults to the frames of pre-training; ``mask_ratio`` and ``norm_pix_loss`` are
    the MAE's; ``decoder_*`` override the decoder size.
    """
    cfg = mae_config(variant)
    pre, model_bands, load = _resolve(
        variant,
        cfg,
        bands=bands,
        pretrained_bands=pretrained_bands,
        in_chans=in_chans,
        pretrained=pretrained,
        ckpt_path=ckpt_path,
    )
    kw = _encoder_kwargs(
        cfg,
        len(model_bands),
        {
            "num_frames": num_frames or cfg["pretrain_frames"],
            "img_size": img_size,
            "coords_encoding": None if coords_encoding is None else tuple(coords_encoding),
            "coords_scale_learn": coords_scale_learn,
            "drop_path": drop_path,
            "pos_embed_mode": pos_embed_mode,
            "embed_dim": embed_dim,
            "depth": depth,
            "num_heads": num_heads,
            "mlp_ratio": mlp_ratio,
            "patch_size": patch_size,
        },
    )
    model = PrithviMAE(
        kw,
        decoder_embed_dim=decoder_embed_dim or cfg["decoder_embed_dim"],
        decoder_depth=decoder_depth if decoder_depth is not None else cfg["decoder_depth"],
        decoder_num_heads=decoder_num_heads or cfg["decoder_num_heads"],
        mask_ratio=mask_ratio,
        norm_pix_loss=norm_pix_loss,
    )
    if load:
        source = _checkpoint_source(variant, cfg, ckpt_path)
        sd = filter_mae_state_dict(load_checkpoint_file(source), model, pre, model_bands, source)
        load_filtered(model, sd, source)
    model.variant = variant  # type: ignore[assignment]
    model.bands = model_bands  # type: ignore[assignment]
    model.pretrained_bands = pre  # type: ignore[assignment]
    return model


# -- registered variants (entry points point here) ----------------------------------------------
def _variant(build: Callable[..., Any], variant: str, doc: str) -> Callable[..., Any]:
    """A builder for one variant with ``build``'s keyword signature (so config checks see every argument)."""
    name = variant if build is build_backbone else f"{variant}_mae"
    return bind_variant(
        build, variant, name=name, doc=f"{doc}\n\nArguments: see :func:`geo_plugin_prithvi.{build.__name__}`."
    )


prithvi_eo_tiny = _variant(build_backbone, "prithvi_eo_tiny", "Tiny Prithvi-EO encoder (256 wide, 4 blocks).")
prithvi_eo_v1_100 = _variant(build_backbone, "prithvi_eo_v1_100", "Prithvi-EO 1.0 100M encoder (ViT-B/16).")
prithvi_eo_v2_tiny_tl = _variant(build_backbone, "prithvi_eo_v2_tiny_tl", "Prithvi-EO 2.0 tiny-TL encoder.")
prithvi_eo_v2_100_tl = _variant(build_backbone, "prithvi_eo_v2_100_tl", "Prithvi-EO 2.0 100M-TL encoder.")
prithvi_eo_v2_300 = _variant(build_backbone, "prithvi_eo_v2_300", "Prithvi-EO 2.0 300M encoder (ViT-L/16).")
prithvi_eo_v2_300_tl = _variant(build_backbone, "prithvi_eo_v2_300_tl", "Prithvi-EO 2.0 300M-TL encoder.")
prithvi_eo_v2_600 = _variant(build_backbone, "prithvi_eo_v2_600", "Prithvi-EO 2.0 600M encoder (ViT-H/14).")
prithvi_eo_v2_600_tl = _variant(build_backbone, "prithvi_eo_v2_600_tl", "Prithvi-EO 2.0 600M-TL encoder.")

prithvi_eo_tiny_mae = _variant(build_mae, "prithvi_eo_tiny", "Tiny Prithvi-EO masked autoencoder.")
prithvi_eo_v1_100_mae = _variant(build_mae, "prithvi_eo_v1_100", "Prithvi-EO 1.0 100M masked autoencoder.")
prithvi_eo_v2_tiny_tl_mae = _variant(build_mae, "prithvi_eo_v2_tiny_tl", "Prithvi-EO 2.0 tiny-TL masked autoencoder.")
prithvi_eo_v2_100_tl_mae = _variant(build_mae, "prithvi_eo_v2_100_tl", "Prithvi-EO 2.0 100M-TL masked autoencoder.")
prithvi_eo_v2_300_mae = _variant(build_mae, "prithvi_eo_v2_300", "Prithvi-EO 2.0 300M masked autoencoder.")
prithvi_eo_v2_300_tl_mae = _variant(build_mae, "prithvi_eo_v2_300_tl", "Prithvi-EO 2.0 300M-TL masked autoencoder.")
prithvi_eo_v2_600_mae = _variant(build_mae, "prithvi_eo_v2_600", "Prithvi-EO 2.0 600M masked autoencoder.")
prithvi_eo_v2_600_tl_mae = _variant(build_mae, "prithvi_eo_v2_600_tl", "Prithvi-EO 2.0 600M-TL masked autoencoder.")
