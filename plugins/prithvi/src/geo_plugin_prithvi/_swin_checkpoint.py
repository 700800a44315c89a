"""Key filters for Prithvi Swin checkpoints: the Swin and the mmseg key conventions.

* **mmseg** (what :class:`~geo_plugin_prithvi._swin.PrithviSwin` itself saves, and mmseg/TerraTorch
  fine-tuned files, possibly under a prefix such as ``backbone.`` or ``model.encoder.``):
  ``patch_embed.projection.*``, ``stages.<i>.blocks.<j>.attn.w_msa.*``, ``ffn.layers.0.0`` / ``ffn.layers.1``,
  ``stages.<i>.downsample.*`` (unfold channel order), ``stages.<i>.norm``.
* **Swin** (Microsoft's naming, pre-training files with ``encoder.``/``decoder.`` halves):
  ``patch_embed.proj.*``, ``layers.<i>.blocks.<j>.attn.*``, ``mlp.fc1`` / ``mlp.fc2``, ``layers.<i>.downsample.*``
  (patch merging concatenates the 2x2 neighbours as ``(0,0), (1,0), (0,1), (1,1)`` blocks: reordered here
  to the unfold order, as mmseg's ``swin2mmseg`` converter does). The decoder, ``mask_token``, the
  classification ``head`` and the final ``norm`` are dropped; a stage's output norm absent from such a
  file keeps its identity initialisation (logged).

Relative position indices are the model's own; bias tables of another window size are resized
bicubically; input channels of ``patch_embed.projection.weight`` are remapped by band name.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any

import torch.nn.functional as F
from geo_core import CheckpointError
from torch import Tensor, nn

from geo_plugin_prithvi._bands import Band, remap_channel_axis

__all__ = ["filter_swin_state_dict", "swin_to_mmseg", "mmseg_to_swin"]

log = logging.getLogger("geo_plugin_prithvi")

_PROJ = "patch_embed.projection.weight"
_SWIN_DROP = ("decoder", "mask_token", "head.", "norm.")
_MMSEG_DROP = ("head.", "decode_head.", "auxiliary_head.")


def _unfold_order(w: Tensor) -> Tensor:
    """Swin's ``(0,0), (1,0), (0,1), (1,1)`` channel blocks to ``nn.Unfold``'s channel-major order (last dim)."""
    lead, n = w.shape[:-1], w.shape[-1]
    blocks = w.reshape(*lead, 4, n // 4)[..., [0, 2, 1, 3], :]
    return blocks.transpose(-1, -2).reshape(*lead, n)


def _swin_order(w: Tensor) -> Tensor:
    """Inverse of :func:`_unfold_order`."""
    lead, n = w.shape[:-1], w.shape[-1]
    blocks = w.reshape(*lead, n // 4, 4).transpose(-1, -2)[..., [0, 2, 1, 3], :]
    return blocks.reshape(*lead, n)


_TO_MMSEG = [
    (re.compile(r"^patch_embed\.proj\."), "patch_embed.projection."),
    (re.compile(r"^layers\.(\d+)\.blocks\.(\d+)\.attn\."), r"stages.\1.blocks.\2.attn.w_msa."),
    (re.compile(r"^layers\.(\d+)\.blocks\.(\d+)\.mlp\.fc1\."), r"stages.\1.blocks.\2.ffn.layers.0.0."),
    (re.compile(r"^layers\.(\d+)\.blocks\.(\d+)\.mlp\.fc2\."), r"stages.\1.blocks.\2.ffn.layers.1."),
    (re.compile(r"^layers\."), "stages."),
]
_TO_SWIN = [
    (re.compile(r"^patch_embed\.projection\."), "patch_embed.proj."),
    (re.compile(r"^stages\.(\d+)\.blocks\.(\d+)\.attn\.w_msa\."), r"layers.\1.blocks.\2.attn."),
    (re.compile(r"^stages\.(\d+)\.blocks\.(\d+)\.ffn\.layers\.0\.0\."), r"layers.\1.blocks.\2.mlp.fc1."),
    (re.compile(r"^stages\.(\d+)\.blocks\.(\d+)\.ffn\.layers\.1\."), r"layers.\1.blocks.\2.mlp.fc2."),
    (re.compile(r"^stages\."), "layers."),
]


def _rename(key: str, rules: list[tuple[re.Pattern[str], str]]) -> str:
    for pattern, repl in rules:
        new, n = pattern.subn(repl, key)
        if n:
            return new
    return key


def swin_to_mmseg(sd: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """Rename Swin-convention keys (no prefix) to the mmseg convention; reorder patch-merging channels."""
    out = {}
    for k, v in sd.items():
        if ".downsample." in k and (".reduction." in k or ".norm." in k):
            v = _unfold_order(v)
        out[_rename(k, _TO_MMSEG)] = v
    return out


def mmseg_to_swin(sd: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """The inverse of :func:`swin_to_mmseg` (writes the Swin convention, e.g. for tests)."""
    out = {}
    for k, v in sd.items():
        if ".downsample." in k and (".reduction." in k or ".norm." in k):
            v = _swin_order(v)
        out[_rename(k, _TO_SWIN)] = v
    return out


def _unwrap(state_dict: Mapping[str, Any]) -> dict[str, Tensor]:
    sd = {k: v for k, v in state_dict.items() if isinstance(v, Tensor)}
    if sd and all(k.startswith("module.") for k in sd):
        sd = {k[len("module.") :]: v for k, v in sd.items()}
    return sd


def _swin_prefix(keys: Sequence[str]) -> str | None:
    for k in keys:
        m = re.match(r"^(.*?)(layers\.\d+\.blocks\.\d+\.attn\.qkv\.weight)$", k)
        if m and not m.group(1).startswith("decoder"):
            return m.group(1)
    return None


def _resize_tables(sd: dict[str, Tensor], own: Mapping[str, Tensor]) -> None:
    for k in [k for k in sd if k.endswith("relative_position_bias_table") and k in own]:
        ck, mine = sd[k], own[k]
        if ck.shape == mine.shape or ck.shape[1] != mine.shape[1]:
            continue  # equal, or a head-count mismatch the loader reports
        s1, s2 = int(ck.shape[0] ** 0.5), int(mine.shape[0] ** 0.5)
        img = ck.permute(1, 0).reshape(1, ck.shape[1], s1, s1)
        sd[k] = F.interpolate(img, size=(s2, s2), mode="bicubic").reshape(ck.shape[1], -1).permute(1, 0).contiguous()
        log.info("%s resized from a %dx%d to a %dx%d relative-position grid", k, s1, s1, s2, s2)


def filter_swin_state_dict(
    state_dict: Mapping[str, Any], model: nn.Module, pretrained_bands: Sequence[Band], bands: Sequence[Band]
) -> dict[str, Tensor]:
    """Turn a Swin- or mmseg-convention state dict into one for ``model`` (see the module doc)."""
    sd = _unwrap(state_dict)
    own = model.state_dict()
    swin_prefix = _swin_prefix(list(sd))
    if swin_prefix is not None:
        sd = {k[len(swin_prefix) :]: v for k, v in sd.items() if k.startswith(swin_prefix)}
        sd = swin_to_mmseg({k: v for k, v in sd.items() if not k.startswith(_SWIN_DROP)})
        for k in own:
            if re.fullmatch(r"stages\.\d+\.norm\.(weight|bias)", k) and k not in sd:
                log.warning("%s is not in the Swin-convention checkpoint; it keeps its identity initialisation", k)
                sd[k] = own[k]
    else:
        prefix = next((k[: -len(_PROJ)] for k in sd if k.endswith(_PROJ)), None)
        if prefix is None:
            raise CheckpointError(
                f"no '{_PROJ}' (mmseg convention) nor 'layers.<i>.blocks.<j>.attn.qkv.weight' (Swin convention) in the "
                f"checkpoint; is it a Prithvi Swin checkpoint? First keys: {list(sd)[:6]}"
            )
        sd = {
            k[len(prefix) :]: v
            for k, v in sd.items()
            if k.startswith(prefix) and not k[len(prefix) :].startswith(_MMSEG_DROP)
        }
    for k in own:
        if k.endswith("relative_position_index"):
            sd[k] = own[k]
    _resize_tables(sd, own)
    if _PROJ in sd:
        ck, mine = sd[_PROJ], own[_PROJ]
        if ck.ndim == 4 and ck.shape[0] == mine.shape[0] and ck.shape[2:] == mine.shape[2:]:
            if list(bands) != list(pretrained_bands):
                sd[_PROJ] = remap_channel_axis(ck, mine, 1, pretrained_bands, bands, "patch_embed")
    return sd
