"""Key filters for the released checkpoint layouts, and strict loading.

Layouts understood:

* **v1** (``Prithvi_EO_V1_100M.pt``): a flat MAE state dict: ``patch_embed.*``, ``blocks.N.*``,
  ``norm.*``, ``cls_token``, ``pos_embed`` plus ``decoder_*`` / ``mask_token`` for the decoder.
* **v2** (``Prithvi_EO_V2_*.pt``): the MAE with ``encoder.`` / ``decoder.`` prefixes, plus
  ``*.temporal_embed_enc.scale`` / ``*.location_embed_enc.scale`` (``_dec`` in the decoder) for ``_tl``.
* An encoder-only state dict (what :class:`PrithviViT` itself saves), also nested under any prefix
  such as ``model.encoder.`` (Lightning checkpoints of fine-tuned geo or TerraTorch models).

The encoder filter (:func:`filter_encoder_state_dict`):

1. unwrap ``state_dict``/``model`` containers; strip the legacy ``_timm_module.`` infix;
2. find the prefix of ``patch_embed.proj.weight`` (``encoder.`` in v2, ``model.encoder.`` in fine-tuned
   Lightning checkpoints): keep the keys under it without the prefix, drop the rest (``decoder.*``);
   no prefix (v1): drop every key containing ``decoder`` or ``_dec`` and ``mask_token``;
3. replace ``pos_embed`` by the model's own (the embedding is fixed sin-cos and depends on the frames
   and size the model is built for);
4. drop ``temporal_embed*`` / ``location_embed*`` when the model has no such encoding; when the
   model has one and the checkpoint not (v1, non-``_tl``), the scale keeps its initial value (logged);
5. remap the input channels of ``patch_embed.proj.weight`` by band name (:mod:`._bands`).

The MAE filter (:func:`filter_mae_state_dict`) keeps both halves, prefixes v1 keys with
``encoder.``/``decoder.``, replaces both position embeddings and also remaps the output rows of
``decoder.decoder_pred`` by band. Anything else that does not fit the model is a
:class:`~geo_core.CheckpointError` naming the keys.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import torch
from geo_core import CheckpointError, key_report
from torch import Tensor, nn

from geo_plugin_prithvi._bands import Band, remap_channel_axis

__all__ = ["filter_encoder_state_dict", "filter_mae_state_dict", "load_filtered"]

log = logging.getLogger("geo_plugin_prithvi")

_COORD_KEYS = ("temporal_embed", "location_embed")
_PROJ = "patch_embed.proj.weight"


class _Filtered(dict[str, Tensor]):
    """A filtered state dict that remembers each key's name in the file (for messages)."""

    file_prefix: str = ""
    file_keys: dict[str, str]

    def file_key(self, key: str) -> str:
        """``key`` as the file spells it (a key the file lacks: where the file would have it)."""
        return self.file_keys.get(key, self.file_prefix + key)


def _clean(state_dict: dict[str, Any]) -> dict[str, Tensor]:
    return {k.replace("_timm_module.", ""): v for k, v in state_dict.items() if isinstance(v, Tensor)}


def _named(sd: dict[str, Tensor], file_keys: dict[str, str], prefix: str) -> _Filtered:
    out = _Filtered(sd)
    out.file_keys = {k: file_keys.get(k, prefix + k) for k in sd}
    out.file_prefix = prefix
    return out


def _encoder_prefix(keys: Sequence[str]) -> str:
    for k in keys:
        if k.endswith(_PROJ):
            return k[: -len(_PROJ)]
    return ""


def _is_v2(keys: Sequence[str]) -> bool:
    return any(k.startswith("encoder.") for k in keys)


def _drop_coords(sd: dict[str, Tensor], temporal: bool, location: bool, prefix: str) -> dict[str, Tensor]:
    out = {}
    for k, v in sd.items():
        if not temporal and "temporal_embed" in k:
            log.info("%scheckpoint key %s dropped: the model has no temporal encoding", prefix, k)
            continue
        if not location and "location_embed" in k:
            log.info("%scheckpoint key %s dropped: the model has no location encoding", prefix, k)
            continue
        out[k] = v
    return out


def _remap_patch_embed(
    sd: dict[str, Tensor],
    model_sd: dict[str, Tensor],
    key: str,
    pretrained: Sequence[Band],
    bands: Sequence[Band],
    source: object = None,
) -> None:
    if key not in sd:
        raise CheckpointError(
            f"the checkpoint has no {key!r} (under any prefix); is it a Prithvi checkpoint?", path=source
        )
    ck, own = sd[key], model_sd[key]
    if ck.ndim != own.ndim or ck.shape[0] != own.shape[0] or ck.shape[2:] != own.shape[2:]:
        raise CheckpointError(
            f"{key}: checkpoint shape {tuple(ck.shape)} does not fit the model's {tuple(own.shape)} "
            "(embed_dim, tubelet or patch size differ; build the variant the checkpoint was trained as)",
            path=source,
        )
    if list(bands) == list(pretrained):
        return
    sd[key] = remap_channel_axis(ck, own, 1, pretrained, bands, "patch_embed")


def _remap_decoder_pred(
    sd: dict[str, Tensor], model_sd: dict[str, Tensor], prefix: str, pretrained: Sequence[Band], bands: Sequence[Band]
) -> None:
    if list(bands) == list(pretrained):
        return
    for suffix in ("weight", "bias"):
        key = f"{prefix}decoder_pred.{suffix}"
        if key not in sd:
            continue
        ck, own = sd[key], model_sd[key]
        ck_v = ck.reshape(-1, len(pretrained), *ck.shape[1:])  # rows are (tubelet, p, p, band), band fastest
        own_v = own.reshape(-1, len(bands), *own.shape[1:])
        sd[key] = remap_channel_axis(ck_v, own_v, 1, pretrained, bands, "decoder_pred").reshape(own.shape)


def filter_encoder_state_dict(
    state_dict: dict[str, Any],
    model: nn.Module,
    pretrained_bands: Sequence[Band],
    bands: Sequence[Band],
    source: object = None,
) -> dict[str, Tensor]:
    """Turn a released (v1, v2) or encoder-only state dict into one for :class:`PrithviViT` (see module doc).

    ``source`` (the file) is named in errors.
    """
    sd = _clean(state_dict)
    prefix = _encoder_prefix(list(sd))
    if prefix:
        sd = {k[len(prefix) :]: v for k, v in sd.items() if k.startswith(prefix)}
    else:
        sd = {k: v for k, v in sd.items() if "decoder" not in k and "_dec" not in k and k != "mask_token"}
    own = model.state_dict()
    sd["pos_embed"] = own["pos_embed"]
    sd = _drop_coords(
        sd, bool(getattr(model, "temporal_encoding", False)), bool(getattr(model, "location_encoding", False)), ""
    )
    _remap_patch_embed(sd, own, "patch_embed.proj.weight", pretrained_bands, bands, source)
    return _named(sd, {}, prefix)


def filter_mae_state_dict(
    state_dict: dict[str, Any],
    model: nn.Module,
    pretrained_bands: Sequence[Band],
    bands: Sequence[Band],
    source: object = None,
) -> dict[str, Tensor]:
    """Turn a released (v1, v2) MAE state dict into one for :class:`PrithviMAE` (see module doc).

    ``source`` (the file) is named in errors.
    """
    sd = _clean(state_dict)
    file_keys: dict[str, str] = {}
    if not _is_v2(list(sd)):
        file_keys = {
            ("decoder." if ("decoder" in k or "_dec" in k or k == "mask_token") else "encoder.") + k: k for k in sd
        }
        sd = {new: sd[old] for new, old in file_keys.items()}
    own = model.state_dict()
    sd["encoder.pos_embed"] = own["encoder.pos_embed"]
    sd["decoder.decoder_pos_embed"] = own["decoder.decoder_pos_embed"]
    enc: Any = model.encoder
    sd = _drop_coords(sd, enc.temporal_encoding, enc.location_encoding, "")
    _remap_patch_embed(sd, own, "encoder.patch_embed.proj.weight", pretrained_bands, bands, source)
    _remap_decoder_pred(sd, own, "decoder.", pretrained_bands, bands)
    return _named(sd, file_keys, "")


def load_filtered(model: nn.Module, sd: dict[str, Tensor], source: object) -> None:
    """Load a filtered state dict; only coordinate-encoding scales may be missing.

    Raises:
        CheckpointError: Unexpected or missing keys, or shapes that do not fit (names them).
    """
    own = model.state_dict()
    bad = [
        f"{k}: checkpoint {tuple(v.shape)} vs model {tuple(own[k].shape)}"
        for k, v in sd.items()
        if k in own and own[k].shape != v.shape
    ]
    if bad:
        raise CheckpointError(
            "shapes do not fit the model (a different variant? check embed_dim/depth/patch size): "
            + "; ".join(bad[:8]),
            path=source,
        )
    with torch.no_grad():
        result = model.load_state_dict(sd, strict=False)
    name = sd.file_key if isinstance(sd, _Filtered) else str
    missing = [k for k in result.missing_keys if not any(c in k for c in _COORD_KEYS)]
    if missing or result.unexpected_keys:
        raise CheckpointError(
            "the checkpoint does not match the model: "
            + key_report([name(k) for k in missing], [name(k) for k in result.unexpected_keys])
            + " (a different variant or depth? a decoder-only or fine-tuned file?)",
            path=source,
        )
    coords = [k for k in result.missing_keys if any(c in k for c in _COORD_KEYS)]
    if coords and any(c in k for k in sd for c in _COORD_KEYS):
        # the file has coordinate scales (a _tl checkpoint) but not all the model needs: incomplete, not v1
        raise CheckpointError(
            "a checkpoint with coordinate encodings (_tl) is incomplete: "
            + key_report([name(k) for k in coords])
            + "; build the model without that encoding (coords_encoding=[...], backbone_coords_encoding in a "
            "config) to load it anyway",
            path=source,
        )
    for k in result.missing_keys:
        log.info("%s not in the checkpoint; keeps its initial value", k)
    log.info("loaded Prithvi weights from %s", source)
