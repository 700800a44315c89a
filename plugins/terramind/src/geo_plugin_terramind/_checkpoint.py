"""The released TerraMind checkpoint layout, band selection and strict loading.

A released file (``TerraMind_v1_<size>.pt``) is the state dict of the whole encoder-decoder model:

* ``encoder_embeddings.<key>.{proj.weight | token_emb.weight, pos_emb, mod_emb}`` for every
  pre-trained modality (``untok_sen2l2a@224``, ``tok_lulc@224``, ...; see :mod:`._modalities`);
* ``encoder.<i>.*`` blocks, ``encoder_norm.*``;
* the generative decoder: ``decoder_embeddings.*``, ``decoder.*``, ``decoder_norm.*``,
  ``decoder_proj_context.*``, ``mask_token``.

:func:`filter_state_dict` keeps the encoder, the embeddings of the selected modalities and drops the
rest; keys may sit under a prefix (``model.encoder.`` in a fine-tuned Lightning checkpoint).
Position embeddings are fixed sin-cos: the model's own are kept. ``proj.weight`` columns are
picked band by band (:func:`select_bands`). :func:`load_filtered` then names every missing or
unexpected key; only ``missing_mod_token`` (not in released files) may be missing.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from geo_core import CheckpointError, key_report
from torch import Tensor, nn

__all__ = ["checkpoint_prefix", "filter_state_dict", "load_checkpoint_file", "load_filtered", "select_bands"]

log = logging.getLogger("geo_plugin_terramind")

#: Parts of the released encoder-decoder file a backbone never uses.
DECODER_PARTS = ("decoder_embeddings.", "decoder.", "decoder_norm.", "decoder_proj_context.", "mask_token")
#: Keys a released file does not have; they keep the model's values.
OPTIONAL = ("missing_mod_token", "pos_emb", "norm1.bias", "norm2.bias", "encoder_norm.bias")
_ANCHOR = "encoder.0.norm1.weight"


def load_checkpoint_file(path: str | os.PathLike[str]) -> dict[str, Tensor]:
    """Read a state dict (``torch.load(weights_only=True)``), unwrapping ``state_dict``/``model`` containers.

    Raises:
        CheckpointError: Missing, unreadable (truncated or corrupt), or not a state dict.
    """
    p = Path(path).expanduser()
    if not p.is_file():
        raise CheckpointError("checkpoint file does not exist", path=p)
    try:
        obj = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise CheckpointError(
            f"cannot read the checkpoint, truncated or corrupt? ({type(exc).__name__}: {exc})", path=p
        ) from exc
    for key in ("state_dict", "model", "model_state_dict"):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
            break
    if not isinstance(obj, dict) or not all(isinstance(k, str) for k in obj):
        raise CheckpointError(f"expected a state dict (name -> tensor), got {type(obj).__name__}", path=p)
    return {k: v for k, v in obj.items() if isinstance(v, Tensor)}


def checkpoint_prefix(keys: Sequence[str]) -> str:
    """The prefix the encoder's keys sit under in a file (``""`` for released files, ``model.encoder.`` ...)."""
    for k in keys:
        if k.endswith(_ANCHOR):
            return k[: -len(_ANCHOR)]
    return ""


def filter_state_dict(state_dict: Mapping[str, Tensor], model: nn.Module) -> dict[str, Tensor]:
    """Keep what ``model`` (a :class:`~geo_plugin_terramind.TerraMindViT`) uses of a released or own state dict."""
    prefix = checkpoint_prefix(list(state_dict))
    sd = {k[len(prefix) :]: v for k, v in state_dict.items() if k.startswith(prefix)}
    own = model.state_dict()
    keys = set(getattr(model, "keys", []))
    out: dict[str, Tensor] = {}
    for k, v in sd.items():
        if k.startswith(DECODER_PARTS):
            continue
        if k.startswith("encoder_embeddings."):
            mod = k.split(".", 2)[1]
            if mod not in keys:
                continue  # a pre-trained modality the model was not built with
            if k.endswith(".pos_emb"):
                continue  # fixed sin-cos: the model's own
        out[k] = v
    for k in own:
        if k.endswith(OPTIONAL) and k not in out:
            out[k] = own[k]
    return out


def select_bands(
    sd: dict[str, Tensor], model: nn.Module, key: str, pretrained: Sequence[str], bands: Sequence[str | int]
) -> None:
    """Replace ``encoder_embeddings.<key>.proj.weight`` by one with the columns of ``bands``, by name.

    Bands not pre-trained keep the model's fresh initialisation (logged).
    """
    name = f"encoder_embeddings.{key}.proj.weight"
    if name not in sd or list(bands) == list(pretrained):
        return
    ck, own = sd[name], model.state_dict()[name]
    pixels = ck.shape[1] // len(pretrained)
    if ck.shape[1] != pixels * len(pretrained) or ck.shape[0] != own.shape[0]:
        raise CheckpointError(
            f"{name}: checkpoint shape {tuple(ck.shape)} does not fit {len(pretrained)} pre-trained bands and the "
            f"model's {tuple(own.shape)}"
        )
    ck_v = ck.reshape(ck.shape[0], pixels, len(pretrained))
    out = own.detach().clone().to(ck.dtype).reshape(own.shape[0], pixels, len(bands))
    fresh = []
    for i, band in enumerate(bands):
        if isinstance(band, str) and band in pretrained:
            out[..., i] = ck_v[..., list(pretrained).index(band)]
        else:
            fresh.append(band)
    if fresh:
        log.warning("%s: no pre-trained weights for bands %s; they start from random initialisation", key, fresh)
    sd[name] = out.reshape(own.shape)


def load_filtered(model: nn.Module, sd: Mapping[str, Tensor], source: Any, prefix: str = "") -> None:
    """Load a filtered state dict strictly.

    Raises:
        CheckpointError: Missing or unexpected keys, or shapes that do not fit, named as in the file.
    """
    own = model.state_dict()
    bad = [
        f"{k}: checkpoint {tuple(v.shape)} vs model {tuple(own[k].shape)}"
        for k, v in sd.items()
        if k in own and own[k].shape != v.shape
    ]
    if bad:
        raise CheckpointError(
            "shapes do not fit the model (a different variant? check the size and the bands): " + "; ".join(bad[:8]),
            path=source,
        )
    missing = sorted(set(own) - set(sd))
    unexpected = sorted(set(sd) - set(own))
    if missing or unexpected:
        raise CheckpointError(
            "the checkpoint does not match the model: "
            + key_report([prefix + k for k in missing], [prefix + k for k in unexpected])
            + " (a different variant or depth? a truncated file? a TerraMind tokenizer instead of the model?)",
            path=source,
        )
    with torch.no_grad():
        model.load_state_dict(dict(sd), strict=True)
    log.info("loaded TerraMind weights from %s", source)
