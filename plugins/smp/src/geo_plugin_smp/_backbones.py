"""smp encoders as geo backbones (``smp:<encoder name>``, ``smp:tu-<timm model>``)."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, Literal

from geo_core import ConfigError, UnusedArgumentError
from geo_core.models import accepted_arguments, suggest, unexpected_argument_error
from torch import Tensor, nn

from geo_plugin_smp import _smp_compat as compat
from geo_plugin_smp._checkpoint import load_encoder_weights

__all__ = ["SMPBackbone", "build_backbone"]


class SMPBackbone(nn.Module):
    """An smp encoder returning only its real stages.

    smp encoders also return the input image and, for transformer-style encoders, an
    empty stride-2 placeholder; both are dropped here.

    Attributes:
        encoder: The smp encoder.
        out_channels: Channels per returned stage.
        strides: Stride of each returned stage relative to the input.
    """

    def __init__(self, encoder: nn.Module) -> None:
        super().__init__()
        self.encoder = encoder
        self._slots = compat.encoder_stage_slots(encoder)
        chans = list(encoder.out_channels)  # type: ignore[arg-type]
        self.out_channels: list[int] = [int(chans[k]) for k in self._slots]
        stride = int(getattr(encoder, "output_stride", 32))
        self.strides: list[int] = [min(2**k, stride) for k in self._slots]

    def forward(self, x: Tensor) -> list[Tensor]:
        """Return the stage features, shallow to deep."""
        feats = self.encoder(x)
        return [feats[k] for k in self._slots]


def build_backbone(
    name: str,
    in_channels: int = 3,
    depth: int = 5,
    output_stride: Literal[8, 16, 32] = 32,
    ckpt_path: str | Path | None = None,
    pretrained: bool | str | None = False,
    **kwargs: Any,
) -> SMPBackbone:
    """Build smp encoder ``name`` as a backbone, with smp's released weights or a local file.

    Args:
        name: An smp encoder name (``resnet18``, ``mit_b0``, ...) or ``tu-<timm model>``.
        in_channels: Input bands; the stem is adapted (loaded weights are repeated over bands).
        depth: Number of stages (1 to 5).
        output_stride: 32, or 16/8 to dilate the last stages.
        ckpt_path: Local weight file (bare encoder, whole smp model, or Lightning checkpoint).
        pretrained: ``True`` (imagenet) or a weights name of smp (``ssl``, ...): smp's released weights,
            fetched and cached by ``geo_core.weights``. Ignored when ``ckpt_path`` is given.
        **kwargs: Extra encoder arguments (for ``tu-`` encoders: ``timm.create_model`` arguments).

    Raises:
        ConfigError: Unknown weights name, or invalid depth.
        CheckpointError: The weight file does not fit.

    Example:
        >>> import geo_core
        >>> net = geo_core.BACKBONES.build("smp:resnet18", in_channels=6)
        >>> net.out_channels
        [64, 64, 128, 256, 512]
    """
    weights = None
    if pretrained and ckpt_path is None:
        from geo_plugin_smp._weights import resolve_weights_name, timm_overlay

        weights = resolve_weights_name(name, pretrained)
        if weights == "timm":  # tu-: timm loads its own released file (stem adapted by timm)
            kwargs["pretrained_cfg_overlay"] = timm_overlay(name)
    if not 1 <= depth <= 5:
        raise ConfigError(f"smp:{name}: depth must be between 1 and 5, got {depth}.", key="depth")
    own = accepted_arguments(build_backbone, skip=1)[0]
    if kwargs and not name.startswith("tu-"):  # smp's own encoders drop extra arguments without a word
        raise UnusedArgumentError(list(kwargs), f"smp:{name}", {k: s for k in kwargs if (s := suggest(k, own))})
    with warnings.catch_warnings():
        # smp warns that timm- encoders are deprecated; the registry metadata says so already.
        warnings.filterwarnings("ignore", message=".*`timm-` encoders are deprecated.*", category=DeprecationWarning)
        try:
            encoder = compat.get_encoder(
                name,
                in_channels=3 if weights and weights != "timm" else in_channels,
                depth=depth,
                output_stride=output_stride,
                timm_pretrained=weights == "timm",
                **kwargs,
            )
        except TypeError as exc:  # tu- encoders: timm's bare "unexpected keyword argument"
            err = unexpected_argument_error(exc, f"smp:{name}", own)
            if err is None:
                raise
            raise err from exc
    if weights and weights != "timm":
        from geo_plugin_smp._weights import load_released_weights

        load_released_weights(encoder, name, weights, in_channels)
    if ckpt_path is not None:
        load_encoder_weights(encoder, ckpt_path, in_channels)
    return SMPBackbone(encoder)
