"""Builders of the Prithvi Swin variants (``geo.backbones`` entry points ``prithvi_swin_B``, ``prithvi_swin_L``).

Sizes and bands come from the ``[backbone.prithvi_swin_*]`` tables of ``geo-plugin.toml``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

from geo_core import CheckpointError, ConfigError, bind_variant

from geo_plugin_prithvi._checkpoint import load_filtered
from geo_plugin_prithvi._manifest import backbone_config
from geo_plugin_prithvi._swin import PrithviSwin
from geo_plugin_prithvi._swin_checkpoint import filter_swin_state_dict
from geo_plugin_prithvi._variants import _resolve
from geo_plugin_prithvi._weights import load_checkpoint_file

__all__ = ["build_swin", "expand_band_intervals", "prithvi_swin_B", "prithvi_swin_L", "test_prithvi_swin"]


def expand_band_intervals(bands: Sequence[Any]) -> list[Any]:
    """Expand TerraTorch's band intervals: ``(start, end)`` (or ``[start, end]``) becomes ``start..end`` inclusive.

    Intervals name new, unnamed bands by index (they start from random weights).

    Raises:
        ConfigError: An interval that is not two integers with ``start <= end``.
    """
    out: list[Any] = []
    for b in bands:
        if isinstance(b, (tuple, list)):
            if len(b) != 2 or not all(isinstance(i, int) and not isinstance(i, bool) for i in b) or b[0] > b[1]:
                raise ConfigError(
                    f"band interval {list(b)!r}: give two integers (start, end), start <= end, both included",
                    key="bands",
                )
            out.extend(range(b[0], b[1] + 1))
        else:
            out.append(b)
    return out


def build_swin(
    variant: str,
    *,
    pretrained: bool | None = None,
    ckpt_path: str | os.PathLike[str] | None = None,
    bands: Sequence[Any] | None = None,
    pretrained_bands: Sequence[Any] | None = None,
    in_chans: int | None = None,
    out_indices: Sequence[int] | None = None,
    num_frames: int = 1,
    drop_path_rate: float = 0.1,
    window_size: int | None = None,
    depths: Sequence[int] | None = None,
    pretrained_cfg_overlay: dict[str, Any] | None = None,
) -> PrithviSwin:
    """Build a Prithvi Swin backbone, optionally loading a checkpoint in the Swin or mmseg key convention.

    Args:
        variant: ``prithvi_swin_B``, ``prithvi_swin_L`` or ``test_prithvi_swin``.
        pretrained: Load weights from ``ckpt_path`` (TerraTorch publishes no Prithvi Swin weight file).
        ckpt_path: A checkpoint in either key convention (see :mod:`._swin_checkpoint`).
        bands: Input bands in order: HLS band names, other names or integer indices for new bands, and
            TerraTorch's intervals ``(start, end)`` of new bands. Pretrained weights are matched by name.
        pretrained_bands: Band order of the checkpoint (default: the six HLS bands).
        in_chans: Only as a check against the number of bands.
        out_indices: Stages to return (default all four).
        num_frames: Must be 1 (the Swin backbone is not multitemporal).
        drop_path_rate: Stochastic depth (TerraTorch's default 0.1).
        window_size: Override the attention window (bias tables of a checkpoint are resized).
        depths: Override blocks per stage (tests, reduced-depth checks).
        pretrained_cfg_overlay: TerraTorch's timm-style ``{"file": <checkpoint>}``: ``ckpt_path`` unless
            ``pretrained=False`` (then ignored, as in timm).

    Raises:
        CheckpointError: Weights asked for without a file, or a file that does not fit (keys named).
        ConfigError: Misspelt band names, bad intervals or contradictory arguments.
    """
    cfg = backbone_config(variant)
    overlay = dict(pretrained_cfg_overlay or {})
    if overlay:
        unknown = sorted(set(overlay) - {"file"})
        if unknown or ckpt_path is not None:
            raise ConfigError(
                f"{variant}: pretrained_cfg_overlay takes only 'file' (a checkpoint path), and not together with "
                f"ckpt_path; got {sorted(overlay)}",
                key="pretrained_cfg_overlay",
            )
        ckpt_path = overlay["file"] if pretrained is not False else None  # timm loads the overlay only if pretrained
    if num_frames != 1:
        raise ConfigError(f"{variant} takes single images; num_frames={num_frames} is not supported", key="num_frames")
    pre, model_bands, load = _resolve(
        variant,
        cfg,
        bands=None if bands is None else expand_band_intervals(bands),
        pretrained_bands=pretrained_bands,
        in_chans=in_chans,
        pretrained=pretrained,
        ckpt_path=ckpt_path,
    )
    model = PrithviSwin(
        in_chans=len(model_bands),
        embed_dim=cfg["embed_dim"],
        depths=tuple(depths or cfg["depths"]),
        num_heads=tuple(cfg["num_heads"]),
        window_size=window_size or cfg["window_size"],
        patch_size=cfg["patch_size"],
        mlp_ratio=cfg["mlp_ratio"],
        drop_path_rate=drop_path_rate,
        out_indices=out_indices,
    )
    if load:
        if ckpt_path is None:
            raise CheckpointError(
                f"{variant}: TerraTorch publishes no Prithvi Swin weight file; pass ckpt_path=<file> "
                "(backbone_ckpt_path in a model config) with a checkpoint in the Swin or mmseg key convention"
            )
        sd = filter_swin_state_dict(load_checkpoint_file(ckpt_path), model, pre, model_bands)
        load_filtered(model, sd, str(ckpt_path))
    model.variant = variant  # type: ignore[assignment]
    model.bands = model_bands  # type: ignore[assignment]
    model.pretrained_bands = pre  # type: ignore[assignment]
    return model


def _variant(name: str, doc: str) -> Callable[..., PrithviSwin]:
    """A builder for one variant with :func:`build_swin`'s keyword signature."""
    return bind_variant(
        build_swin, name, doc=f"{doc}\n\nArguments: see :func:`geo_plugin_prithvi._swin_variants.build_swin`."
    )


test_prithvi_swin = _variant("test_prithvi_swin", "Tiny Prithvi Swin for tests (16 wide, 2 blocks per stage).")
prithvi_swin_B = _variant("prithvi_swin_B", "Prithvi Swin-B (128 wide, depths 2-2-18-2).")
prithvi_swin_L = _variant("prithvi_swin_L", "Prithvi Swin-L (192 wide, depths 2-2-18-2).")
