"""smp decoders usable on any backbone's feature list (geo's decoder convention).

Each class takes the backbone's ``channel_list`` first, exposes ``out_channels``
and ``includes_head = False``; its ``forward(features)`` returns one feature map
for a head. How features map onto smp's stages (the empty stride-2 slot, the
number of stages) is explained in :mod:`geo_plugin_smp._smp_compat`.

Example:
    >>> import torch
    >>> from geo_plugin_smp import UnetDecoder
    >>> dec = UnetDecoder([16, 32, 64, 128])          # strides 4, 8, 16, 32
    >>> feats = [torch.randn(1, c, 32 // 2**i, 32 // 2**i) for i, c in enumerate([16, 32, 64, 128])]
    >>> dec(feats).shape                               # 4x the first feature
    torch.Size([1, 16, 128, 128])
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar, Literal

from geo_core import ConfigError
from torch import Tensor, nn

from geo_plugin_smp import _smp_compat as compat

__all__ = [
    "SMPDecoder",
    "UnetDecoder",
    "UnetPlusPlusDecoder",
    "MAnetDecoder",
    "LinknetDecoder",
    "FPNDecoder",
    "PSPNetDecoder",
    "PANDecoder",
    "DeepLabV3Decoder",
    "DeepLabV3PlusDecoder",
    "UPerNetDecoder",
    "SegformerDecoder",
    "DPTDecoder",
]

Norm = bool | str | dict[str, Any]
_UNET_CHANNELS = (256, 128, 64, 32, 16)


def _batch_guard(arch: str, module: nn.Module, batch: int) -> None:
    if arch in compat.BATCH_GT1_ARCHS and module.training and batch == 1:
        raise ValueError(
            f"smp {arch} cannot train on a batch of one sample: its global-pooling branch feeds BatchNorm, "
            "which needs more than one value per channel. Use batch_size >= 2 (and drop_last=True so the last "
            "batch is not a single sample), or call .eval() for inference."
        )


class SMPDecoder(nn.Module):
    """Base of the smp decoder wrappers: slot layout, checks and the forward call.

    Attributes:
        channel_list: Channels of the backbone features this decoder was built for.
        layout: Where those features sit among smp's stage slots.
        decoder: The wrapped smp decoder module.
        out_channels: Channels of the output feature map.
    """

    includes_head: ClassVar[bool] = False
    arch: ClassVar[str] = ""
    allow_empty: ClassVar[bool] = True
    pyramid: ClassVar[bool] = True
    depth_range: ClassVar[tuple[int, int]] = (1, 99)

    def _needs(self, depth: int) -> Sequence[int]:
        return ()

    def _smp_kwargs(self, layout: compat.SlotLayout) -> dict[str, Any]:
        return {}

    def __init__(self, channel_list: Sequence[int], depth: int | None, output_channels: int, /, **kwargs: Any) -> None:
        super().__init__()
        self.channel_list = [int(c) for c in channel_list]
        self.layout = compat.slot_layout(
            self.arch,
            self.channel_list,
            depth,
            allow_empty=self.allow_empty,
            needs=self._needs,
            depth_range=self.depth_range,
        )
        args = {**self._smp_kwargs(self.layout), **kwargs}
        self.decoder = compat.make_decoder(self.arch, self.layout.channels, **args)
        self.out_channels = int(output_channels)

    def forward(self, features: list[Tensor]) -> Tensor:
        """Decode a feature list (shallow to deep) into one feature map."""
        if features:
            _batch_guard(self.arch, self, features[0].shape[0])
        slots = compat.fill_slots(self.layout, features, self.arch, pyramid=self.pyramid)
        return compat.decoder_forward(self.arch, self.decoder, slots)


def _unet_channels(decoder_channels: Sequence[int] | None, layout: compat.SlotLayout, arch: str) -> list[int]:
    if decoder_channels is None:
        if layout.depth > len(_UNET_CHANNELS):
            raise ConfigError(f"smp {arch} with depth {layout.depth}: pass decoder_channels explicitly.")
        return list(_UNET_CHANNELS[: layout.depth])
    if len(decoder_channels) != layout.depth:
        raise ConfigError(
            f"smp {arch} has {layout.depth} stages for channel_list {list(layout.channels[layout.first :])}, "
            f"so decoder_channels needs {layout.depth} entries, got {list(decoder_channels)}."
        )
    return list(decoder_channels)


class UnetDecoder(SMPDecoder):
    """smp's U-Net decoder on any feature pyramid.

    Args:
        channel_list: Backbone channels, shallow to deep.
        decoder_channels: Output channels per decoder block (one per stage); default
            ``(256, 128, 64, 32, 16)`` truncated to the number of stages.
        depth: Number of stages (default: features + 1 below five features, see the module docs).
        use_norm: Normalisation between convolutions (smp's ``decoder_use_norm``).
        attention_type: ``None`` or ``"scse"``.
        add_center_block: Add a centre block on the deepest feature.
        interpolation_mode: Upsampling mode.
    """

    arch = "Unet"

    def __init__(
        self,
        channel_list: Sequence[int],
        decoder_channels: Sequence[int] | None = None,
        depth: int | None = None,
        use_norm: Norm = "batchnorm",
        attention_type: Literal["scse"] | None = None,
        add_center_block: bool = False,
        interpolation_mode: str = "nearest",
    ) -> None:
        layout = compat.slot_layout(self.arch, channel_list, depth)
        chans = _unet_channels(decoder_channels, layout, self.arch)
        super().__init__(
            channel_list,
            layout.depth,
            chans[-1],
            decoder_channels=chans,
            n_blocks=layout.depth,
            use_norm=use_norm,
            attention_type=attention_type,
            add_center_block=add_center_block,
            interpolation_mode=interpolation_mode,
        )


class UnetPlusPlusDecoder(SMPDecoder):
    """smp's U-Net++ decoder; every feature is one stage (no empty slot), output at 2x the first feature.

    Args:
        channel_list: Backbone channels, shallow to deep.
        decoder_channels: Output channels per block (one per feature).
        use_norm: Normalisation between convolutions.
        attention_type: ``None`` or ``"scse"``.
        interpolation_mode: Upsampling mode.
    """

    arch = "UnetPlusPlus"
    allow_empty = False

    def __init__(
        self,
        channel_list: Sequence[int],
        decoder_channels: Sequence[int] | None = None,
        use_norm: Norm = "batchnorm",
        attention_type: Literal["scse"] | None = None,
        interpolation_mode: str = "nearest",
    ) -> None:
        layout = compat.slot_layout(self.arch, channel_list, allow_empty=False)
        chans = _unet_channels(decoder_channels, layout, self.arch)
        super().__init__(
            channel_list,
            layout.depth,
            chans[-1],
            decoder_channels=chans,
            n_blocks=layout.depth,
            use_norm=use_norm,
            attention_type=attention_type,
            interpolation_mode=interpolation_mode,
        )


class MAnetDecoder(SMPDecoder):
    """smp's multi-scale attention U-Net decoder.

    Args:
        channel_list: Backbone channels, shallow to deep.
        decoder_channels: Output channels per block (one per stage).
        depth: Number of stages (see the module docs).
        pab_channels: Channels of the position attention block.
        use_norm: Normalisation between convolutions.
        interpolation_mode: Upsampling mode.
    """

    arch = "MAnet"

    def __init__(
        self,
        channel_list: Sequence[int],
        decoder_channels: Sequence[int] | None = None,
        depth: int | None = None,
        pab_channels: int = 64,
        use_norm: Norm = "batchnorm",
        interpolation_mode: str = "nearest",
    ) -> None:
        layout = compat.slot_layout(self.arch, channel_list, depth)
        chans = _unet_channels(decoder_channels, layout, self.arch)
        super().__init__(
            channel_list,
            layout.depth,
            chans[-1],
            decoder_channels=chans,
            n_blocks=layout.depth,
            pab_channels=pab_channels,
            use_norm=use_norm,
            interpolation_mode=interpolation_mode,
        )


class LinknetDecoder(SMPDecoder):
    """smp's LinkNet decoder; every feature is one stage (no empty slot), output at 2x the first feature.

    Args:
        channel_list: Backbone channels, shallow to deep.
        prefinal_channels: Output channels.
        use_norm: Normalisation between convolutions.
    """

    arch = "Linknet"
    allow_empty = False

    def __init__(self, channel_list: Sequence[int], prefinal_channels: int = 32, use_norm: Norm = "batchnorm") -> None:
        n = len(channel_list)
        super().__init__(
            channel_list, n, prefinal_channels, prefinal_channels=prefinal_channels, n_blocks=n, use_norm=use_norm
        )


class FPNDecoder(SMPDecoder):
    """smp's feature pyramid decoder on the four deepest features (output at the fourth-deepest).

    Args:
        channel_list: Backbone channels, shallow to deep (at least four).
        pyramid_channels: Channels of the pyramid.
        segmentation_channels: Channels per merged level.
        dropout: Spatial dropout before the head.
        merge_policy: ``"add"`` (output ``segmentation_channels``) or ``"cat"`` (4x that).
        interpolation_mode: Upsampling mode.
    """

    arch = "FPN"
    depth_range = (3, 99)

    def _needs(self, depth: int) -> Sequence[int]:
        return range(depth - 3, depth + 1)

    def __init__(
        self,
        channel_list: Sequence[int],
        pyramid_channels: int = 256,
        segmentation_channels: int = 128,
        dropout: float = 0.2,
        merge_policy: Literal["add", "cat"] = "add",
        interpolation_mode: str = "nearest",
    ) -> None:
        out = segmentation_channels * (4 if merge_policy == "cat" else 1)
        super().__init__(
            channel_list,
            None,
            out,
            pyramid_channels=pyramid_channels,
            segmentation_channels=segmentation_channels,
            dropout=dropout,
            merge_policy=merge_policy,
            interpolation_mode=interpolation_mode,
        )

    def _smp_kwargs(self, layout: compat.SlotLayout) -> dict[str, Any]:
        return {"encoder_depth": layout.depth}


class PSPNetDecoder(SMPDecoder):
    """smp's pyramid scene parsing module on the last feature map (select another with a neck).

    Args:
        channel_list: Backbone channels, shallow to deep.
        decoder_channels: Output channels.
        use_norm: Normalisation.
        dropout: Spatial dropout.
    """

    arch = "PSPNet"
    pyramid = False

    def __init__(
        self,
        channel_list: Sequence[int],
        decoder_channels: int = 512,
        use_norm: Norm = "batchnorm",
        dropout: float = 0.2,
    ) -> None:
        super().__init__(
            channel_list, None, decoder_channels, out_channels=decoder_channels, use_norm=use_norm, dropout=dropout
        )


class PANDecoder(SMPDecoder):
    """smp's pyramid attention network on up to four features (stride-4 slot and deeper).

    Training needs batches of at least two samples, and the last feature must be at
    least 8 x 8 (its attention block pools by two three times).

    Args:
        channel_list: Backbone channels, shallow to deep (two to five; with five the first is unused).
        decoder_channels: Output channels.
        interpolation_mode: Upsampling mode.
    """

    arch = "PAN"
    depth_range = (3, 5)

    def _needs(self, depth: int) -> Sequence[int]:
        return range(2, depth + 1)

    def __init__(
        self, channel_list: Sequence[int], decoder_channels: int = 32, interpolation_mode: str = "bilinear"
    ) -> None:
        super().__init__(
            channel_list,
            None,
            decoder_channels,
            decoder_channels=decoder_channels,
            interpolation_mode=interpolation_mode,
        )

    def _smp_kwargs(self, layout: compat.SlotLayout) -> dict[str, Any]:
        return {"encoder_depth": layout.depth}

    def forward(self, features: list[Tensor]) -> Tensor:
        """Decode; the deepest map must be at least 8 x 8 (three 2x poolings in the attention block)."""
        if features and min(features[-1].shape[-2:]) < 8:
            raise ValueError(
                f"smp PAN needs the deepest feature map to be at least 8 x 8, got {tuple(features[-1].shape[-2:])}; "
                "use larger inputs (>= 256 px for a stride-32 backbone, >= 128 px at output stride 16)."
            )
        return super().forward(features)


class DeepLabV3Decoder(SMPDecoder):
    """smp's DeepLabV3 ASPP decoder on the last feature map. Training needs batches of at least two.

    Args:
        channel_list: Backbone channels, shallow to deep.
        decoder_channels: Output channels.
        atrous_rates: ASPP dilation rates.
        aspp_separable: Use depthwise-separable ASPP convolutions.
        aspp_dropout: ASPP dropout.
    """

    arch = "DeepLabV3"
    pyramid = False

    def __init__(
        self,
        channel_list: Sequence[int],
        decoder_channels: int = 256,
        atrous_rates: Sequence[int] = (12, 24, 36),
        aspp_separable: bool = False,
        aspp_dropout: float = 0.5,
    ) -> None:
        super().__init__(
            channel_list,
            None,
            decoder_channels,
            out_channels=decoder_channels,
            atrous_rates=tuple(atrous_rates),
            aspp_separable=aspp_separable,
            aspp_dropout=aspp_dropout,
        )


class DeepLabV3PlusDecoder(SMPDecoder):
    """smp's DeepLabV3+ decoder: ASPP on the last map fused with the stride-4 slot.

    Training needs batches of at least two samples.

    Args:
        channel_list: Backbone channels, shallow to deep (at least two).
        decoder_channels: Output channels.
        atrous_rates: ASPP dilation rates.
        aspp_separable: Use depthwise-separable ASPP convolutions.
        aspp_dropout: ASPP dropout.
    """

    arch = "DeepLabV3Plus"
    depth_range = (3, 99)

    def _needs(self, depth: int) -> Sequence[int]:
        return (2, depth)

    def __init__(
        self,
        channel_list: Sequence[int],
        decoder_channels: int = 256,
        atrous_rates: Sequence[int] = (12, 24, 36),
        aspp_separable: bool = True,
        aspp_dropout: float = 0.5,
    ) -> None:
        super().__init__(
            channel_list,
            None,
            decoder_channels,
            out_channels=decoder_channels,
            atrous_rates=tuple(atrous_rates),
            aspp_separable=aspp_separable,
            aspp_dropout=aspp_dropout,
            output_stride=16,
        )

    def _smp_kwargs(self, layout: compat.SlotLayout) -> dict[str, Any]:
        return {"encoder_depth": layout.depth}


class UPerNetDecoder(SMPDecoder):
    """smp's UPerNet decoder on the stride-4 slot and deeper. Training needs batches of at least two.

    Args:
        channel_list: Backbone channels, shallow to deep (at least two).
        decoder_channels: Output channels.
        use_norm: Normalisation.
    """

    arch = "UPerNet"
    depth_range = (3, 99)

    def _needs(self, depth: int) -> Sequence[int]:
        return range(2, depth + 1)

    def __init__(self, channel_list: Sequence[int], decoder_channels: int = 256, use_norm: Norm = "batchnorm") -> None:
        super().__init__(channel_list, None, decoder_channels, decoder_channels=decoder_channels, use_norm=use_norm)

    def _smp_kwargs(self, layout: compat.SlotLayout) -> dict[str, Any]:
        return {"encoder_depth": layout.depth}


class SegformerDecoder(SMPDecoder):
    """smp's all-MLP Segformer decoder; output at the stride-4 slot.

    Args:
        channel_list: Backbone channels, shallow to deep (at least two).
        segmentation_channels: Output channels.
    """

    arch = "Segformer"
    depth_range = (3, 99)

    def _needs(self, depth: int) -> Sequence[int]:
        return range(2, depth + 1)

    def __init__(self, channel_list: Sequence[int], segmentation_channels: int = 256) -> None:
        super().__init__(channel_list, None, segmentation_channels, segmentation_channels=segmentation_channels)

    def _smp_kwargs(self, layout: compat.SlotLayout) -> dict[str, Any]:
        return {"encoder_depth": layout.depth}


class DPTDecoder(nn.Module):
    """smp's dense prediction transformer decoder for ViT features.

    Takes token features ``(B, N, D)`` (a square patch grid after ``num_prefix_tokens``
    prefix tokens) or maps ``(B, D, h, w)`` of equal size. Feature ``i`` is resampled to
    stride ``2**(i + 2)`` from its ``feature_strides[i]`` and the levels are fused and
    upsampled by two; the output has stride 2 relative to the input image.

    Args:
        channel_list: Embedding size of each selected layer.
        feature_strides: Stride of each feature relative to the image (default 16 each: ViT /16).
        readout: What to do with prefix (cls) tokens: ``"ignore"``, or ``"cat"``/``"add"`` them
            (needs token inputs with prefix tokens).
        num_prefix_tokens: Prefix tokens per token feature (default: inferred from a square grid).
        intermediate_channels: Channels after reassembly per level.
        fusion_channels: Output channels.
    """

    includes_head: ClassVar[bool] = False

    def __init__(
        self,
        channel_list: Sequence[int],
        feature_strides: Sequence[int] | None = None,
        readout: Literal["ignore", "cat", "add"] = "ignore",
        num_prefix_tokens: int | None = None,
        intermediate_channels: Sequence[int] | None = None,
        fusion_channels: int = 256,
    ) -> None:
        super().__init__()
        self.channel_list = [int(c) for c in channel_list]
        n = len(self.channel_list)
        strides = list(feature_strides) if feature_strides is not None else [16] * n
        inter = (
            list(intermediate_channels)
            if intermediate_channels is not None
            else [min(256 * 2**i, 1024) for i in range(n)]
        )
        if not n or len(strides) != n or len(inter) != n:
            raise ConfigError(
                f"smp DPT: channel_list {self.channel_list}, feature_strides {strides} and intermediate_channels "
                f"{inter} must be non-empty and of equal length."
            )
        if readout not in ("ignore", "cat", "add"):
            raise ConfigError(f"smp DPT: readout must be 'ignore', 'cat' or 'add', got {readout!r}.")
        self.readout = readout
        self.num_prefix_tokens = num_prefix_tokens
        self.decoder = compat.make_decoder(
            "DPT",
            [],
            encoder_out_channels=self.channel_list,
            encoder_output_strides=strides,
            encoder_has_prefix_tokens=readout != "ignore",
            readout=readout,
            intermediate_channels=inter,
            fusion_channels=fusion_channels,
        )
        self.out_channels = int(fusion_channels)

    def _split(self, f: Tensor, i: int) -> tuple[Tensor, Tensor | None]:
        if f.ndim == 4:
            if self.readout != "ignore":
                raise ValueError(
                    f"smp DPT with readout={self.readout!r} needs token features (B, N, D) with prefix tokens; "
                    f"feature {i} is a map {tuple(f.shape)}. Use readout='ignore'."
                )
            return f, None
        if f.ndim != 3:
            raise ValueError(f"smp DPT takes (B, N, D) tokens or (B, D, h, w) maps, feature {i} is {tuple(f.shape)}.")
        b, n, d = f.shape
        prefix = self.num_prefix_tokens if self.num_prefix_tokens is not None else n - math.isqrt(n) ** 2
        side = math.isqrt(n - prefix)
        if side * side != n - prefix:
            raise ValueError(
                f"smp DPT: {n} tokens minus {prefix} prefix tokens is not a square grid (feature {i}); "
                "turn non-square grids into maps with the ReshapeTokensToImage neck."
            )
        if self.readout != "ignore" and prefix == 0:
            raise ValueError(f"smp DPT with readout={self.readout!r} needs prefix (cls) tokens; feature {i} has none.")
        grid = f[:, prefix:].transpose(1, 2).reshape(b, d, side, side)
        return grid, (f[:, :prefix] if prefix else None)

    def forward(self, features: list[Tensor]) -> Tensor:
        """Decode a list of ViT features into one map at stride 2."""
        if len(features) != len(self.channel_list):
            raise ValueError(f"smp DPT was built for {len(self.channel_list)} features, got {len(features)}.")
        maps, prefix = [], []
        for i, f in enumerate(features):
            m, p = self._split(f, i)
            if m.shape[1] != self.channel_list[i]:
                raise ValueError(f"smp DPT: feature {i} has {m.shape[1]} channels, expected {self.channel_list[i]}.")
            maps.append(m)
            prefix.append(p)
        return compat.dpt_forward(self.decoder, maps, prefix)
