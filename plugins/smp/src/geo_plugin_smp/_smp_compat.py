"""The one module that touches segmentation_models.pytorch internals.

Everything geo needs from smp beyond its documented top-level API (decoder
classes in ``smp.decoders.<arch>.decoder``, the encoder table, heads, the way a
whole model chains its parts) is reached through the functions here, so that a
new smp release means changing this file only. The supported range is pinned in
``pyproject.toml`` and checked by ``geo plugins doctor``.

How a backbone's feature list maps onto smp's stages
----------------------------------------------------
smp decoders take a list of ``depth + 1`` tensors, one per *slot*: slot 0 is the
input image (stride 1) and slot ``k`` has stride ``2**k``. Transformer encoders
have no stride-2 stage, so smp fills slot 1 with an empty (0-channel) tensor.

A geo backbone returns ``n`` feature maps, shallow to deep, each half the size
of the one before (a pyramid). :func:`slot_layout` places them in the *deepest*
``n`` slots of ``depth = n + 1`` slots when ``n < 5`` (the first feature is taken
as the stride-4 stage and the stride-2 slot stays empty, as smp does for ViT
style encoders) and of ``depth = n`` slots when ``n >= 5`` (the first feature is
the stride-2 stage). Every slot below the first feature, slot 0 included, is an
empty tensor of the matching size. Decoders that cannot use an empty slot
(UnetPlusPlus, Linknet) put the features in slots ``1..n`` instead. A decoder
states which slots it reads; if one of them would be empty the constructor
raises :class:`geo_core.ConfigError` naming the decoder, the channel list and
the fix (a neck such as ``SelectIndices`` or ``LearnedInterpolateToPyramidal``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import segmentation_models_pytorch as smp
import torch
import torch.nn.functional as F
from geo_core import ConfigError
from torch import Tensor, nn

__all__ = [
    "SMP_VERSION",
    "ARCHITECTURES",
    "BATCH_GT1_ARCHS",
    "SlotLayout",
    "slot_layout",
    "fill_slots",
    "make_decoder",
    "decoder_forward",
    "get_encoder",
    "encoder_catalogue",
    "encoder_stage_slots",
    "create_model",
    "model_parts",
    "model_forward",
    "model_divisor",
    "segmentation_loss",
]

SMP_VERSION: str = smp.__version__

#: Canonical architecture names, as smp spells its classes.
ARCHITECTURES: tuple[str, ...] = (
    "Unet",
    "UnetPlusPlus",
    "MAnet",
    "Linknet",
    "FPN",
    "PSPNet",
    "PAN",
    "DeepLabV3",
    "DeepLabV3Plus",
    "UPerNet",
    "Segformer",
    "DPT",
)

#: Architectures with a global-pooling branch followed by BatchNorm: a training
#: batch of one sample makes BatchNorm fail with an obscure message.
BATCH_GT1_ARCHS: frozenset[str] = frozenset({"PAN", "DeepLabV3", "DeepLabV3Plus", "UPerNet"})


# -- slots -----------------------------------------------------------------------
@dataclass(frozen=True)
class SlotLayout:
    """Where ``n`` backbone features sit among smp's ``depth + 1`` slots.

    Attributes:
        depth: Number of slots after the input slot 0.
        first: Slot of the first (shallowest) feature; slots ``first..depth`` hold features.
        channels: Channels per slot, ``0`` for empty slots (length ``depth + 1``).
    """

    depth: int
    first: int
    channels: tuple[int, ...]


def slot_layout(
    decoder: str,
    channel_list: Sequence[int],
    depth: int | None = None,
    *,
    allow_empty: bool = True,
    needs: Callable[[int], Sequence[int]] = lambda d: (),
    depth_range: tuple[int, int] = (1, 99),
) -> SlotLayout:
    """Place a feature list in smp's slots (see the module docstring).

    Args:
        decoder: Decoder name, for error messages.
        channel_list: Channels of the backbone features, shallow to deep.
        depth: Number of slots after slot 0; default: ``n + 1`` when ``n < 5`` else ``n``
            (``n`` when ``allow_empty`` is false).
        allow_empty: Whether the decoder accepts empty slots between slot 0 and the first feature.
        needs: ``depth -> slots`` the decoder reads; each must hold a feature.
        depth_range: Inclusive range of depths the decoder supports.

    Raises:
        ConfigError: The feature list cannot fit this decoder.
    """
    chans = [int(c) for c in channel_list]
    n = len(chans)
    fix = (
        "Select or build a pyramid of feature maps with a neck (e.g. SelectIndices, "
        "LearnedInterpolateToPyramidal) or pass a different decoder depth."
    )
    if n == 0 or any(c <= 0 for c in chans):
        raise ConfigError(f"smp {decoder} needs a non-empty list of positive channel counts, got {chans}.")
    if depth is None:
        depth = n if (not allow_empty or n >= 5) else n + 1
        depth = max(depth, depth_range[0]) if allow_empty else depth
    if depth < n:
        raise ConfigError(f"smp {decoder}: depth={depth} is smaller than the {n} features {chans}. {fix}")
    if not allow_empty and depth != n:
        raise ConfigError(
            f"smp {decoder} cannot use empty stages, so its depth must equal the number of features "
            f"({n}), got depth={depth}."
        )
    lo, hi = depth_range
    if not lo <= depth <= hi:
        raise ConfigError(
            f"smp {decoder} supports {lo} to {hi} stages but the feature list {chans} needs depth={depth}. {fix}"
        )
    first = depth - n + 1
    slots = (0,) * first + tuple(chans)
    missing = [s for s in needs(depth) if not 0 < s <= depth or slots[s] == 0]
    if missing:
        raise ConfigError(
            f"smp {decoder} reads stage slot(s) {missing} (slot k has stride 2**k) but the feature list "
            f"{chans} fills only slots {first}..{depth}; it needs more feature maps. {fix}"
        )
    return SlotLayout(depth, first, slots)


def fill_slots(layout: SlotLayout, features: Sequence[Tensor], decoder: str, *, pyramid: bool = True) -> list[Tensor]:
    """Turn a backbone feature list into smp's slot list (empty tensors for empty slots).

    Raises:
        ValueError: Wrong number of features, channels, token-shaped features, or no pyramid.
    """
    feats = list(features)
    n = len(layout.channels) - layout.first
    if len(feats) != n:
        raise ValueError(f"smp {decoder} was built for {n} feature maps, got {len(feats)}.")
    for i, (f, c) in enumerate(zip(feats, layout.channels[layout.first :], strict=True)):
        if f.ndim != 4:
            raise ValueError(
                f"smp {decoder} needs (B, C, H, W) feature maps, feature {i} has shape {tuple(f.shape)}; "
                "turn tokens into maps with the ReshapeTokensToImage neck."
            )
        if f.shape[1] != c:
            raise ValueError(f"smp {decoder}: feature {i} has {f.shape[1]} channels, expected {c}.")
    if pyramid:
        for i in range(1, n):
            (h0, w0), (h1, w1) = feats[i - 1].shape[-2:], feats[i].shape[-2:]
            if (h1, w1) not in {(math.ceil(h0 / 2), math.ceil(w0 / 2)), (h0 // 2, w0 // 2)}:
                sizes = [tuple(f.shape[-2:]) for f in feats]
                raise ValueError(
                    f"smp {decoder} needs a feature pyramid (each map half the size of the previous one), "
                    f"got sizes {sizes}; add a neck such as LearnedInterpolateToPyramidal."
                )
    b, h, w = feats[0].shape[0], *feats[0].shape[-2:]
    empties = [
        feats[0].new_zeros((b, 0, h * 2 ** (layout.first - s), w * 2 ** (layout.first - s)))
        for s in range(layout.first)
    ]
    return empties + feats


# -- decoders --------------------------------------------------------------------
_DECODER_CLASSES = {
    "Unet": ("unet", "UnetDecoder"),
    "UnetPlusPlus": ("unetplusplus", "UnetPlusPlusDecoder"),
    "MAnet": ("manet", "MAnetDecoder"),
    "Linknet": ("linknet", "LinknetDecoder"),
    "FPN": ("fpn", "FPNDecoder"),
    "PSPNet": ("pspnet", "PSPDecoder"),
    "PAN": ("pan", "PANDecoder"),
    "DeepLabV3": ("deeplabv3", "DeepLabV3Decoder"),
    "DeepLabV3Plus": ("deeplabv3", "DeepLabV3PlusDecoder"),
    "UPerNet": ("upernet", "UPerNetDecoder"),
    "Segformer": ("segformer", "SegformerDecoder"),
    "DPT": ("dpt", "DPTDecoder"),
}


def make_decoder(arch: str, encoder_channels: Sequence[int], **kwargs: Any) -> nn.Module:
    """Build smp's decoder module ``arch`` on slot channels (slot 0 included; unused by DPT)."""
    if arch not in _DECODER_CLASSES:
        raise ValueError(f"unknown smp architecture {arch!r}; expected one of {ARCHITECTURES}")
    package, cls_name = _DECODER_CLASSES[arch]
    cls: Any = getattr(getattr(smp.decoders, package).decoder, cls_name)
    ch = list(encoder_channels)
    if arch == "DeepLabV3":
        module: nn.Module = cls(in_channels=ch[-1], **kwargs)
    elif arch == "DPT":
        module = cls(**kwargs)
    else:
        module = cls(ch, **kwargs)
    return module


def decoder_forward(arch: str, decoder: nn.Module, slots: list[Tensor]) -> Tensor:
    """Run an smp decoder on a slot list.

    DeepLabV3Plus upsamples its ASPP output by a fixed factor that only fits smp's
    dilated encoders; here it is resized to the stride-4 slot instead.
    """
    if arch == "DeepLabV3Plus":
        dec: Any = decoder
        aspp = dec.aspp(slots[-1])
        high = dec.block1(slots[2])
        aspp = F.interpolate(aspp, size=high.shape[-2:], mode="bilinear", align_corners=True)
        return dec.block2(torch.cat([aspp, high], dim=1))  # type: ignore[no-any-return]
    return decoder(slots)  # type: ignore[no-any-return]


def dpt_forward(decoder: nn.Module, features: list[Tensor], prefix: list[Tensor | None]) -> Tensor:
    """Run smp's DPT decoder on maps and their prefix (cls) tokens.

    Same computation as ``DPTDecoder.forward``, except that each fused level is resized
    to the next one when their sizes differ (odd or non-square grids), where smp's
    fixed 2x upsampling would fail.
    """
    dec: Any = decoder
    processed = [
        dec.reassemble_blocks[i](dec.projection_blocks[i](f, p))
        for i, (f, p) in enumerate(zip(features, prefix, strict=True))
    ]
    fused: Tensor | None = None
    for block, feature in zip(dec.fusion_blocks, processed[::-1], strict=True):
        x = block.residual_conv_block1(feature)
        if fused is not None:
            if fused.shape[-2:] != x.shape[-2:]:
                fused = F.interpolate(fused, size=x.shape[-2:], mode="bilinear", align_corners=True)
            x = x + fused
        x = block.residual_conv_block2(x)
        x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=True)
        fused = block.project(x)
    assert fused is not None
    return fused


# -- encoders --------------------------------------------------------------------
def get_encoder(
    name: str, *, in_channels: int, depth: int, output_stride: int, timm_pretrained: bool = False, **kwargs: Any
) -> nn.Module:
    """Build smp encoder ``name`` with random weights (smp is never asked to download).

    ``timm_pretrained`` (``tu-`` encoders only) lets timm load the file named by
    ``pretrained_cfg_overlay=dict(file=...)`` in ``kwargs``.
    """
    return smp.encoders.get_encoder(  # type: ignore[no-any-return]
        name,
        in_channels=in_channels,
        depth=depth,
        weights=True if timm_pretrained else None,
        output_stride=output_stride,
        **kwargs,
    )


def encoder_stage_slots(encoder: nn.Module) -> list[int]:
    """Slots (stride ``2**k``) of an smp encoder's real stages: not the input, not empty placeholders."""
    chans = list(encoder.out_channels)  # type: ignore[arg-type]
    return [k for k, c in enumerate(chans) if k > 0 and c > 0]


def encoder_catalogue() -> dict[str, dict[str, Any]]:
    """Describe every registered smp encoder from smp's table, without building any.

    Returns:
        name -> ``{"out_channels", "strides", "weights", "family"}`` for the default depth 5.
    """
    out: dict[str, dict[str, Any]] = {}
    for name, entry in smp.encoders.encoders.items():
        chans = list(entry["params"]["out_channels"])
        stages = [(k, c) for k, c in enumerate(chans) if k > 0 and c > 0]
        out[name] = {
            "out_channels": [c for _, c in stages],
            "strides": [2**k for k, _ in stages],
            "weights": sorted(entry.get("pretrained_settings", {})),
            "family": getattr(entry["encoder"], "__module__", "").rsplit(".", 1)[-1].lstrip("_"),
        }
    return out


# -- whole models ----------------------------------------------------------------
def create_model(arch: str, *, timm_pretrained: bool = False, **kwargs: Any) -> nn.Module:
    """Build a whole smp model with random encoder weights (``timm_pretrained``: see :func:`get_encoder`)."""
    model: nn.Module = smp.create_model(arch, encoder_weights=True if timm_pretrained else None, **kwargs)
    return model


def model_parts(model: nn.Module) -> tuple[nn.Module, nn.Module, nn.Module, nn.Module | None]:
    """Return ``(encoder, decoder, segmentation_head, classification_head)`` of an smp model."""
    m: Any = model
    return m.encoder, m.decoder, m.segmentation_head, m.classification_head


def model_forward(arch: str, encoder: nn.Module, decoder: nn.Module, x: Tensor) -> tuple[Tensor, Tensor]:
    """Chain an smp model's parts as ``SegmentationModel.forward`` does.

    Returns:
        ``(decoder_output, deepest_feature)`` (the latter feeds the classification head).
    """
    if arch == "DPT":
        features, prefix = encoder(x)
        return dpt_forward(decoder, features, prefix), features[-1]
    features = encoder(x)
    return decoder(features), features[-1]


def model_divisor(model: nn.Module) -> int:
    """The number input height and width must be divisible by (1 if any size works)."""
    m: Any = model
    if not getattr(m, "requires_divisible_input_shape", True):
        return 1
    return int(m.encoder.output_stride)


# -- losses ----------------------------------------------------------------------
def segmentation_loss(name: str, **kwargs: Any) -> nn.Module:
    """Build an smp loss by its short name."""
    losses = smp.losses
    classes: dict[str, Any] = {
        "dice": losses.DiceLoss,
        "jaccard": losses.JaccardLoss,
        "focal": losses.FocalLoss,
        "lovasz": losses.LovaszLoss,
        "tversky": losses.TverskyLoss,
    }
    loss: nn.Module = classes[name](**kwargs)
    return loss
