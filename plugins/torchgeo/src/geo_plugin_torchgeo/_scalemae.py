"""Scale-MAE token backbones over torchgeo's ``ScaleMAE`` (a timm ViT with GSD-scaled position encodings).

TerraTorch builds Scale-MAE through ``scalemae.create_model("vit_base_patch16" | "vit_large_patch16" |
"vit_huge_patch14")``; here they are ``scalemae_base_patch16``, ``scalemae_large_patch16`` (torchgeo's
name) and ``scalemae_huge_patch14``. The encoder returns the tokens ``(B, 1 + N, D)`` of the selected
blocks as TerraTorch's does: the sin-cos position encoding is computed for the real token grid with
every coordinate multiplied by the input's ground sample distance (``input_res``, a scalar or one per
sample; ``default_input_res`` otherwise), the cls token gets none, no final norm, by default only the
last block. The pretraining bands are RGB (``RED, GREEN, BLUE``); other ``bands`` keep a randomly
initialised patch-embedding channel, as TerraTorch does.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from functools import partial
from typing import Any, cast

import torch
from geo_core import CheckpointError, ConfigError
from torch import Tensor, nn
from torchgeo.models.scale_mae import ScaleMAE

from geo_plugin_torchgeo._named import resolve_checkpoint
from geo_plugin_torchgeo._vit_checkpoint import encoder_state, load_strict, read_state

__all__ = ["PRETRAINED_BANDS", "ScaleMAEEncoder", "build_scalemae", "gsd_pos_embed"]

log = logging.getLogger("geo_plugin_torchgeo")

#: Bands of the released (fMoW RGB) weights, in input order.
PRETRAINED_BANDS = ["RED", "GREEN", "BLUE"]
_NAMESPACE = ("cls_token", "patch_embed.", "blocks.", "norm.")


# -- blocks --------------------------------------------------------------------------------------------
def _sincos_1d(dim: int, pos: Tensor) -> Tensor:
    omega = torch.arange(dim // 2, dtype=torch.float32, device=pos.device)
    omega /= dim / 2.0
    omega = 1.0 / 10000**omega
    out = pos.reshape(-1)[:, None] * omega[None, :]
    return torch.cat([torch.sin(out), torch.cos(out)], dim=1)


def gsd_pos_embed(dim: int, h: int, w: int, res: Tensor) -> Tensor:
    """Scale-MAE's encoding ``(B, h*w, dim)``: 2-D sin-cos of the grid coordinates times the GSD ``res`` ``(B,)``.

    The first half encodes the column, the second the row, as in Scale-MAE.
    """
    rows = torch.arange(h, dtype=torch.float32, device=res.device)
    cols = torch.arange(w, dtype=torch.float32, device=res.device)
    grid = torch.stack(torch.meshgrid(cols, rows, indexing="xy"), dim=0)  # (2, h, w): column, row
    grid = grid[:, None] * res[None, :, None, None]  # (2, B, h, w)
    emb = torch.cat([_sincos_1d(dim // 2, grid[0]), _sincos_1d(dim // 2, grid[1])], dim=1)
    return emb.reshape(res.shape[0], h * w, dim)


# -- model ---------------------------------------------------------------------------------------------
class ScaleMAEEncoder(ScaleMAE):
    """torchgeo's ScaleMAE as a token backbone: ``forward(x, input_res=None) -> list[(B, 1 + N, D)]``.

    Args:
        patch_size: Patch size.
        embed_dim: Token width.
        depth: Transformer blocks.
        num_heads: Attention heads.
        in_chans: Input bands.
        default_input_res: GSD (metres) used when ``forward`` gets no ``input_res``.
        out_indices: Blocks returned (negative count from the end); default the last, as TerraTorch.
        bands: Band names, for messages.
    """

    def __init__(
        self,
        *,
        patch_size: int,
        embed_dim: int,
        depth: int,
        num_heads: int,
        in_chans: int = 3,
        default_input_res: float = 1.0,
        out_indices: Sequence[int] | None = None,
        bands: Sequence[str] | None = None,
    ) -> None:
        super().__init__(
            res=default_input_res,
            patch_size=patch_size,
            in_chans=in_chans,
            embed_dim=embed_dim,
            depth=depth,
            num_heads=num_heads,
            mlp_ratio=4,
            qkv_bias=True,
            num_classes=0,
            pos_embed="none",
            norm_layer=partial(nn.LayerNorm, eps=1e-6),
        )
        picked = [-1] if out_indices is None else [int(i) for i in out_indices]
        bad = [i for i in picked if not -depth <= i < depth]
        if bad:
            raise ConfigError(
                f"out_indices {bad} outside the {depth} blocks (0..{depth - 1} or negative)", key="out_indices"
            )
        self.patch_embed.strict_img_size = False  # any multiple of the patch size: the encoding follows the grid
        self.depth = depth
        self.default_input_res = float(default_input_res)
        self.out_indices = [i % depth for i in picked]
        self.out_channels = [embed_dim] * len(self.out_indices)
        self.output_format = "tokens"
        self.prefix_tokens = 1
        self.bands = list(bands) if bands is not None else None

    def forward(self, x: Tensor, input_res: float | Tensor | None = None) -> list[Tensor]:  # type: ignore[override]
        """Tokens of the selected blocks; ``H`` and ``W`` multiples of the patch size.

        Args:
            x: ``(B, C, H, W)`` input.
            input_res: Ground sample distance in metres, a scalar or ``(B,)``.
        """
        b, _, h, w = x.shape
        p = self.patch_embed.proj.kernel_size[0]
        if h % p or w % p:
            raise ConfigError(f"Scale-MAE needs H and W divisible by the patch size {p}; got {h}x{w}", key="img_size")
        tokens = self.patch_embed.proj(x).flatten(2).transpose(1, 2)
        res = torch.as_tensor(
            self.default_input_res if input_res is None else input_res, dtype=torch.float32, device=x.device
        ).reshape(-1)
        res = res.expand(b) if res.numel() == 1 else res
        pos = gsd_pos_embed(tokens.shape[-1], h // p, w // p, res).to(tokens.dtype)
        cls = cast(Tensor, self.cls_token)  # built with class_token=True: never None
        tokens = torch.cat((cls.expand(b, -1, -1), tokens + pos), dim=1)
        tokens = self.pos_drop(tokens)
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
def load_scalemae_checkpoint(
    model: ScaleMAEEncoder, path: str | os.PathLike[str], pretrained_bands: Sequence[str] = PRETRAINED_BANDS
) -> None:
    """Load a released Scale-MAE file (``{"model": ...}`` with the MAE decoder, or torchgeo's encoder file).

    The patch embedding's input channels are matched by band name; the position embedding of the file
    is not used (Scale-MAE recomputes it for every input).

    Raises:
        CheckpointError: Missing / unexpected / misshapen keys, named as in the file.
    """
    sd, prefix = encoder_state(read_state(path), "patch_embed.proj.weight", _NAMESPACE, "Scale-MAE")
    key = "patch_embed.proj.weight"
    own = model.state_dict()[key]
    ck = sd[key]
    bands = model.bands or list(pretrained_bands)
    if (
        ck.shape[1] == len(pretrained_bands)
        and ck.shape[0] == own.shape[0]
        and ck.shape[2:] == own.shape[2:]
        and ([b.upper() for b in bands] != [b.upper() for b in pretrained_bands])
    ):
        new = own.clone()
        index = {b.upper(): i for i, b in enumerate(pretrained_bands)}
        for j, band in enumerate(bands):
            i = index.get(str(band).upper())
            if i is None:
                log.info(
                    "Scale-MAE: band %s is not a pretrained band %s; its patch-embedding channel keeps its "
                    "random initialisation",
                    band,
                    list(pretrained_bands),
                )
            else:
                new[:, j] = ck[:, i]
        sd[key] = new
    load_strict(model, sd, prefix, path)


# -- builder -------------------------------------------------------------------------------------------
def build_scalemae(
    name: str,
    *,
    bands: Sequence[Any] | None = None,
    model_bands: Sequence[Any] | None = None,
    pretrained: bool = False,
    ckpt_path: str | os.PathLike[str] | None = None,
    ckpt_data: str | os.PathLike[str] | None = None,
    out_indices: Sequence[int] | None = None,
    default_input_res: float = 1.0,
    input_size: int | None = None,
    img_size: int | None = None,
    depth: int | None = None,
) -> ScaleMAEEncoder:
    """Build Scale-MAE variant ``name`` (a ``[backbone.*]`` table of ``geo-plugin.toml``).

    Args:
        name: The registered name.
        bands: Input band names (default the pretrained RGB); ``model_bands`` is the same.
        model_bands: Same as ``bands``.
        pretrained: Load the released weights through :mod:`geo_core.weights`.
        ckpt_path: A checkpoint (path, URL or hf.co address); ``ckpt_data`` is the same.
        ckpt_data: Same as ``ckpt_path``.
        out_indices: Blocks to return (default: the last, as TerraTorch).
        default_input_res: GSD in metres used when the batch has no ``input_res`` (TerraTorch: 1).
        input_size: Accepted for TerraTorch configs (any multiple of the patch size works).
        img_size: Same as ``input_size``.
        depth: Fewer blocks (tests, reduced checks).

    Raises:
        ConfigError: Conflicting arguments.
        CheckpointError: Weights unavailable or not matching (keys named).
    """
    import geo_core

    cfg = geo_core.BACKBONES.info(f"torchgeo:{name}").metadata
    if model_bands is not None and bands is not None and list(model_bands) != list(bands):
        raise ConfigError(f"{name}: model_bands and bands disagree; give one", key="model_bands")
    chosen = model_bands if model_bands is not None else bands
    names = [str(getattr(b, "value", b)).split(".")[-1] for b in chosen] if chosen is not None else None
    if names is None:
        log.info("%s: bands not given; assuming the pretrained order %s", name, PRETRAINED_BANDS)
    model = ScaleMAEEncoder(
        patch_size=cfg["patch_size"],
        embed_dim=cfg["embed_dim"],
        depth=depth or cfg["depth"],
        num_heads=cfg["num_heads"],
        in_chans=len(names) if names else 3,
        default_input_res=default_input_res,
        out_indices=out_indices,
        bands=names,
    )
    ckpt = ckpt_path if ckpt_path is not None else ckpt_data
    if ckpt is not None:
        load_scalemae_checkpoint(model, resolve_checkpoint(ckpt, f"torchgeo:{name}"))
    elif pretrained:
        table = cfg.get("weights")
        if not table:
            raise CheckpointError(f"{name} has no released weights; pass ckpt_path=<file> or pretrained=False")
        from geo_core.weights import WeightRef, fetch_weights

        load_scalemae_checkpoint(model, fetch_weights(WeightRef.from_mapping(table), name=f"torchgeo:{name}"))
    return model


# -- registered variants -------------------------------------------------------------------------------
def scalemae_test(**kwargs: Any) -> ScaleMAEEncoder:
    """Tiny Scale-MAE (D=32, 2 blocks) for tests."""
    return build_scalemae("scalemae_test", **kwargs)


def scalemae_base_patch16(**kwargs: Any) -> ScaleMAEEncoder:
    """Scale-MAE ViT-B/16 (TerraTorch ``vit_base_patch16``; no released weights)."""
    return build_scalemae("scalemae_base_patch16", **kwargs)


def scalemae_large_patch16(**kwargs: Any) -> ScaleMAEEncoder:
    """Scale-MAE ViT-L/16 (TerraTorch ``vit_large_patch16``; torchgeo ``ScaleMAELarge16_Weights.FMOW_RGB``)."""
    return build_scalemae("scalemae_large_patch16", **kwargs)


def scalemae_huge_patch14(**kwargs: Any) -> ScaleMAEEncoder:
    """Scale-MAE ViT-H/14 (TerraTorch ``vit_huge_patch14``; no released weights)."""
    return build_scalemae("scalemae_huge_patch14", **kwargs)
