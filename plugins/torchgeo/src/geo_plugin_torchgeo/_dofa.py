"""DOFA (Dynamic One-For-All) token backbones under TerraTorch's names, over torchgeo's ``DOFA``.

``dofa_small_patch16_224``, ``dofa_base_patch16_224`` and ``dofa_large_patch16_224`` are torchgeo's
:class:`torchgeo.models.dofa.DOFA` (wavelength-conditioned patch embedding, timm blocks) without its
classifier, returning the ViT tokens ``(B, 1 + N, D)`` of the selected blocks as TerraTorch's DOFA
wrapper does: position embedding added, cls token first, no final norm, by default only the last block.

Bands are given by name (TerraTorch's ``model_bands``, HLS names such as ``BLUE`` or ``NIR_NARROW``,
looked up in :data:`geo_core.data.HLS_WAVELENGTHS`) or directly as ``wavelengths`` in micrometres;
``forward(x, wavelengths=...)`` overrides them per call.
Released weights (torchgeo's ``DOFABase16_Weights.DOFA_MAE`` / ``DOFALarge16_Weights.DOFA_MAE``) load
unchanged; for an ``img_size`` other than 224 the checkpoint's position embedding is resized
(``pos_interpolation_mode``, bilinear by default, as TerraTorch does for ``ckpt_data``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from geo_core import CheckpointError, ConfigError
from geo_core.data import HLS_WAVELENGTHS, band_wavelengths
from torch import Tensor
from torchgeo.models.dofa import DOFA

from geo_plugin_torchgeo._named import resolve_checkpoint
from geo_plugin_torchgeo._vit_checkpoint import encoder_state, load_strict, read_state

__all__ = ["DOFAEncoder", "build_dofa"]

_NAMESPACE = ("cls_token", "pos_embed", "patch_embed.", "blocks.")


# -- model ---------------------------------------------------------------------------------------------
class DOFAEncoder(DOFA):
    """torchgeo's DOFA as a token backbone: ``forward(x, wavelengths=None) -> list[(B, 1 + N, D)]``.

    Args:
        img_size: Square input size the position embedding is built for.
        patch_size: Patch size.
        embed_dim: Token width.
        depth: Transformer blocks.
        num_heads: Attention heads.
        wavelengths: Central wavelength (micrometres) of every input band.
        bands: Band names, for messages.
        out_indices: Blocks returned (negative count from the end); default the last, as TerraTorch.
        mlp_ratio: MLP width as a multiple of ``embed_dim``.
    """

    def __init__(
        self,
        *,
        img_size: int = 224,
        patch_size: int = 16,
        embed_dim: int,
        depth: int,
        num_heads: int,
        wavelengths: Sequence[float],
        bands: Sequence[str] | None = None,
        out_indices: Sequence[int] | None = None,
        mlp_ratio: float = 4.0,
    ) -> None:
        super().__init__(
            img_size=img_size,
            patch_size=patch_size,
            embed_dim=embed_dim,
            depth=depth,
            num_heads=num_heads,
            num_classes=0,
            mlp_ratio=mlp_ratio,
        )
        del self.fc_norm, self.head, self.head_drop  # the classifier: no backbone output uses it
        picked = [-1] if out_indices is None else [int(i) for i in out_indices]
        bad = [i for i in picked if not -depth <= i < depth]
        if bad:
            raise ConfigError(
                f"out_indices {bad} outside the {depth} blocks (0..{depth - 1} or negative)", key="out_indices"
            )
        self.out_indices = [i % depth for i in picked]
        self.out_channels = [embed_dim] * len(self.out_indices)
        self.output_format = "tokens"
        self.prefix_tokens = 1
        self.wavelengths = [float(w) for w in wavelengths]
        self.bands = list(bands) if bands is not None else None

    def forward(self, x: Tensor, wavelengths: Sequence[float] | Tensor | None = None) -> list[Tensor]:  # type: ignore[override]
        """Tokens of the selected blocks for ``(B, C, H, W)`` with ``H = W = img_size``.

        Args:
            x: Input bands.
            wavelengths: Per-call wavelengths (micrometres), one per band; default the built ones.
        """
        waves = self.wavelengths if wavelengths is None else wavelengths
        waves_t = torch.as_tensor(waves, dtype=torch.float32, device=x.device).reshape(-1)
        if waves_t.numel() != x.shape[1]:
            raise ConfigError(
                f"DOFA got {x.shape[1]} bands but {waves_t.numel()} wavelengths "
                f"({self.bands or list(map(float, waves_t))}); build it with model_bands=[...] or "
                "wavelengths=[...] matching the data",
                key="wavelengths",
            )
        tokens, _ = self.patch_embed(x, waves_t)
        if tokens.shape[1] + 1 != self.pos_embed.shape[1]:
            raise ConfigError(
                f"DOFA was built for {self.img_size}x{self.img_size} inputs; got "
                f"{tuple(x.shape[-2:])}. Build it with img_size={x.shape[-1]} (square) or resize",
                key="img_size",
            )
        tokens = tokens + self.pos_embed[:, 1:, :]
        cls = (self.cls_token + self.pos_embed[:, :1, :]).expand(tokens.shape[0], -1, -1)
        tokens = torch.cat((cls, tokens), dim=1)
        out: dict[int, Tensor] = {}
        last = max(self.out_indices)
        for i, block in enumerate(self.blocks):
            tokens = block(tokens)
            if i in self.out_indices:
                out[i] = tokens
            if i == last:
                break
        return [out[i] for i in self.out_indices]


# -- checkpoint filter ---------------------------------------------------------------------------------
def resize_pos_embed(pos_embed: Tensor, grid: int, mode: str = "bilinear") -> Tensor:
    """Resample a ``(1, 1 + g*g, D)`` position embedding to a ``grid x grid`` one (the cls entry is kept)."""
    old = round((pos_embed.shape[1] - 1) ** 0.5)
    patches = pos_embed[:, 1:].reshape(1, old, old, -1).permute(0, 3, 1, 2)
    patches = F.interpolate(patches, size=(grid, grid), mode=mode, align_corners=False)
    return torch.cat((pos_embed[:, :1], patches.flatten(2).transpose(1, 2)), dim=1)


def load_dofa_checkpoint(model: DOFAEncoder, path: str | os.PathLike[str], mode: str = "bilinear") -> None:
    """Load a released (or saved) DOFA encoder into ``model``; resizes the position embedding if needed.

    Raises:
        CheckpointError: Missing / unexpected / misshapen keys, named as in the file.
    """
    sd, prefix = encoder_state(read_state(path), "patch_embed.weight_generator.weight_tokens", _NAMESPACE, "DOFA")
    grid = model.img_size // model.patch_size

    def fix(key: str, value: Tensor, own: Tensor) -> Tensor | None:
        if key == "pos_embed" and value.shape[-1] == own.shape[-1]:
            return resize_pos_embed(value, grid, mode)
        return None

    load_strict(model, sd, prefix, path, fix)


# -- builder -------------------------------------------------------------------------------------------
def _wavelengths(
    name: str, bands: Sequence[Any] | None, wavelengths: Sequence[float] | None
) -> tuple[list[str] | None, list[float]]:
    if wavelengths is not None:
        waves = [float(w) for w in wavelengths]
        if bands is not None and len(bands) != len(waves):
            raise ConfigError(f"{name}: {len(bands)} bands but {len(waves)} wavelengths", key="wavelengths")
        return (None if bands is None else [str(b) for b in bands]), waves
    if bands is None:
        raise ConfigError(
            f"{name}: DOFA needs the input bands: model_bands=[...] (HLS names: {', '.join(HLS_WAVELENGTHS)}) "
            "or wavelengths=[...] in micrometres (backbone_model_bands / backbone_wavelengths in a model config)",
            key="model_bands",
        )
    names = [str(getattr(b, "value", b)).split(".")[-1] for b in bands]
    fix = "or pass wavelengths=[...] (micrometres; backbone_wavelengths in a model config)"
    return names, band_wavelengths(names, HLS_WAVELENGTHS, component=name, key="model_bands", fix=fix)


def build_dofa(
    name: str,
    model_bands: Sequence[Any] | None = None,
    *,
    bands: Sequence[Any] | None = None,
    wavelengths: Sequence[float] | None = None,
    pretrained: bool = False,
    ckpt_data: str | os.PathLike[str] | None = None,
    ckpt_path: str | os.PathLike[str] | None = None,
    out_indices: Sequence[int] | None = None,
    img_size: int | None = None,
    input_size: int | None = None,
    pos_interpolation_mode: str = "bilinear",
    depth: int | None = None,
) -> DOFAEncoder:
    """Build DOFA variant ``name`` (a ``[backbone.*]`` table of ``geo-plugin.toml``).

    Args:
        name: The registered name.
        model_bands: Band names of the input (TerraTorch's argument); ``bands`` is the same.
        bands: Same as ``model_bands``.
        wavelengths: Wavelengths in micrometres instead of names.
        pretrained: Load the released weights through :mod:`geo_core.weights`.
        ckpt_data: TerraTorch's checkpoint argument (path, URL or hf.co address); ``ckpt_path`` is the same.
        ckpt_path: Same as ``ckpt_data``.
        out_indices: Blocks to return (default: the last, as TerraTorch).
        img_size: Square input size (default 224); ``input_size`` is TerraTorch's spelling.
        input_size: Same as ``img_size``.
        pos_interpolation_mode: How a checkpoint's position embedding is resized to ``img_size``.
        depth: Fewer blocks (tests, reduced checks).

    Raises:
        ConfigError: Conflicting or missing band arguments.
        CheckpointError: Weights unavailable or not matching (keys named).
    """
    import geo_core

    cfg = geo_core.BACKBONES.info(f"torchgeo:{name}").metadata
    if model_bands is not None and bands is not None and list(model_bands) != list(bands):
        raise ConfigError(f"{name}: model_bands and bands disagree; give one", key="model_bands")
    names, waves = _wavelengths(name, model_bands if model_bands is not None else bands, wavelengths)
    model = DOFAEncoder(
        img_size=int(img_size or input_size or cfg["img_size"]),
        patch_size=cfg["patch_size"],
        embed_dim=cfg["embed_dim"],
        depth=depth or cfg["depth"],
        num_heads=cfg["num_heads"],
        wavelengths=waves,
        bands=names,
        out_indices=out_indices,
    )
    ckpt = ckpt_path if ckpt_path is not None else ckpt_data
    if ckpt is not None:
        load_dofa_checkpoint(model, resolve_checkpoint(ckpt, f"torchgeo:{name}"), pos_interpolation_mode)
    elif pretrained:
        table = cfg.get("weights")
        if not table:
            raise CheckpointError(f"{name} has no released weights; pass ckpt_path=<file> or pretrained=False")
        from geo_core.weights import WeightRef, fetch_weights

        path = fetch_weights(WeightRef.from_mapping(table), name=f"torchgeo:{name}")
        load_dofa_checkpoint(model, path, pos_interpolation_mode)
    return model


# -- registered variants -------------------------------------------------------------------------------
def dofa_test(model_bands: Sequence[Any] | None = None, **kwargs: Any) -> DOFAEncoder:
    """Tiny DOFA (D=32, 2 blocks, 32x32 inputs) for tests."""
    return build_dofa("dofa_test", model_bands, **kwargs)


def dofa_small_patch16_224(model_bands: Sequence[Any] | None = None, **kwargs: Any) -> DOFAEncoder:
    """TerraTorch's ``dofa_small_patch16_224`` (D=384, 12 blocks; no released weights)."""
    return build_dofa("dofa_small_patch16_224", model_bands, **kwargs)


def dofa_base_patch16_224(model_bands: Sequence[Any] | None = None, **kwargs: Any) -> DOFAEncoder:
    """TerraTorch's ``dofa_base_patch16_224`` (D=768, 12 blocks; torchgeo ``DOFABase16_Weights.DOFA_MAE``)."""
    return build_dofa("dofa_base_patch16_224", model_bands, **kwargs)


def dofa_large_patch16_224(model_bands: Sequence[Any] | None = None, **kwargs: Any) -> DOFAEncoder:
    """TerraTorch's ``dofa_large_patch16_224`` (D=1024, 24 blocks; torchgeo ``DOFALarge16_Weights.DOFA_MAE``)."""
    return build_dofa("dofa_large_patch16_224", model_bands, **kwargs)
