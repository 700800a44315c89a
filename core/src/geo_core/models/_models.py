"""The models EncoderDecoderFactory builds: :class:`PixelWiseModel` and :class:`ScalarOutputModel`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import torch.nn.functional as F
from torch import Tensor, nn

from geo_core._contracts import Model, ModelOutput, _ensure_tensor_list
from geo_core._errors import InputDataError
from geo_core.models._padding import PaddingMode, check_fixed_size, check_input, input_multiple, pad_to_multiple
from geo_core.models._routing import filter_kwargs, forward_kwargs
from geo_core.models.necks._chain import NeckChain

__all__ = ["PixelWiseModel", "ScalarOutputModel", "DecoderWithHead"]


def _pad_modalities(
    x: Mapping[str, Tensor], multiple: int, mode: PaddingMode
) -> tuple[dict[str, Tensor], tuple[int, int], tuple[int, int]]:
    """Pad each ``(B, C, [T,] H, W)`` modality of a multimodal input; other tensors (token ids) pass as they are.

    Returns:
        The padded inputs, the original and the padded ``(H, W)`` (of the first raster).
    """
    out: dict[str, Tensor] = {}
    sizes: list[tuple[tuple[int, int], tuple[int, int]]] = []
    for name, t in x.items():
        if isinstance(t, Tensor) and t.dim() in (4, 5):
            t, orig = pad_to_multiple(t, multiple, mode)
            sizes.append((orig, (int(t.shape[-2]), int(t.shape[-1]))))
        out[name] = t
    if not sizes:
        raise InputDataError(
            f"a multimodal input needs at least one (B, C, H, W) raster; got "
            f"{ {k: tuple(v.shape) if isinstance(v, Tensor) else type(v).__name__ for k, v in x.items()} }"
        )
    if len({s[0] for s in sizes}) > 1:
        raise InputDataError(
            "the modalities of a multimodal input differ in height and width: "
            f"{ {k: tuple(v.shape[-2:]) for k, v in x.items() if isinstance(v, Tensor) and v.dim() in (4, 5)} }; "
            "resample them to one grid"
        )
    return out, sizes[0][0], sizes[0][1]


class DecoderWithHead(nn.Module):
    """A decoder followed by an optional head (auxiliary heads are built as these)."""

    def __init__(self, decoder: nn.Module, head: nn.Module | None) -> None:
        super().__init__()
        self.decoder = decoder
        self.head = head

    def forward(self, features: list[Tensor]) -> Tensor:
        """Decode and apply the head."""
        y = self.decoder(features)
        return self.head(y) if self.head is not None else y  # type: ignore[no-any-return]


class _EncoderDecoderModel(Model):
    """Shared plumbing: input checks, padding, encoder kwargs, necks, decoder + head, aux heads."""

    def __init__(
        self,
        task: str,
        encoder: nn.Module,
        decoder: nn.Module,
        head: nn.Module | None = None,
        necks: NeckChain | None = None,
        aux_heads: Mapping[str, DecoderWithHead] | None = None,
        padding: PaddingMode = "reflect",
        pad_multiple: int | None = None,
    ) -> None:
        super().__init__()
        self.task = task
        self.encoder = encoder
        self.necks = necks if necks is not None else NeckChain([])
        self.decoder = decoder
        self.head = head
        self.aux_heads = nn.ModuleDict(dict(aux_heads or {}))
        self.padding: PaddingMode = padding
        self.pad_multiple = pad_multiple if pad_multiple is not None else input_multiple(encoder)
        self._encoder_kwargs = forward_kwargs(encoder)

    def decoder_modules(self) -> list[nn.Module]:
        """The decoder, the head and the auxiliary heads."""
        mods: list[nn.Module] = [self.decoder]
        if self.head is not None:
            mods.append(self.head)
        mods += list(self.aux_heads.values())
        return mods

    def head_modules(self) -> list[nn.Module]:
        """The head (none when the decoder includes its head)."""
        return [self.head] if self.head is not None else []

    def encode(
        self, x: Tensor | Mapping[str, Tensor], **kwargs: Any
    ) -> tuple[list[Tensor], tuple[int, int], tuple[int, int]]:
        """Check and pad ``x``, run the encoder and the necks.

        Returns:
            Features, the original ``(H, W)`` and the padded ``(H, W)``.
        """
        if isinstance(x, Mapping):  # multimodal: {modality: (B, C, H, W)}, every raster padded alike
            x, orig, padded = _pad_modalities(x, self.pad_multiple, self.padding)
        else:
            check_input(x, self.encoder)
            x, orig = pad_to_multiple(x, self.pad_multiple, self.padding)
            padded = (int(x.shape[-2]), int(x.shape[-1]))
        check_fixed_size(self.encoder, padded, orig)
        feats = _ensure_tensor_list(self.encoder(x, **filter_kwargs(kwargs, self._encoder_kwargs)), "the backbone")
        return self.necks(feats, image_size=padded), orig, padded

    def _heads(self, feats: list[Tensor]) -> tuple[Tensor, dict[str, Tensor]]:
        y = self.decoder(feats)
        if self.head is not None:
            y = self.head(y)
        return y, {name: aux(feats) for name, aux in self.aux_heads.items()}


class PixelWiseModel(_EncoderDecoderModel):
    """Encoder → necks → decoder → head for per-pixel tasks.

    ``segmentation`` gives ``(B, num_classes, H, W)``; ``regression`` gives
    ``(B, H, W)`` (or ``(B, n, H, W)`` for ``n > 1`` outputs). Inputs are padded
    to the backbone's patch size / total stride (``padding``) and outputs
    cropped back; ``rescale`` interpolates decoder outputs to the input size.
    """

    def __init__(
        self, task: Literal["segmentation", "regression"], *args: Any, rescale: bool = True, **kwargs: Any
    ) -> None:
        super().__init__(task, *args, **kwargs)
        self.rescale = rescale

    def _finish(self, y: Tensor, orig: tuple[int, int], padded: tuple[int, int]) -> Tensor:
        if y.dim() != 4:
            raise ValueError(f"the decoder/head returned shape {tuple(y.shape)}; a pixel-wise model needs (B, C, h, w)")
        if self.rescale and tuple(y.shape[-2:]) != padded:
            y = F.interpolate(y, size=padded, mode="bilinear", align_corners=False)
        if tuple(y.shape[-2:]) == padded and padded != orig:
            y = y[..., : orig[0], : orig[1]]
        if self.task == "regression" and y.shape[1] == 1:
            y = y[:, 0]
        return y

    def forward(self, x: Tensor | Mapping[str, Tensor], **kwargs: Any) -> ModelOutput:
        """Predict per pixel; extra kwargs go to the backbone when it accepts them."""
        feats, orig, padded = self.encode(x, **kwargs)
        if any(f.dim() == 3 for f in feats):
            from geo_core._errors import ConfigError

            raise ConfigError(
                f"the decoder {type(self.decoder).__name__} would get (B, N, D) tokens from the backbone "
                f"{type(self.encoder).__name__}; add necks: [{{name: ReshapeTokensToImage}}] (or declare "
                "output_format = 'tokens' and prefix_tokens on the backbone so geo adds it)",
                key="necks",
            )
        y, aux = self._heads(feats)
        return ModelOutput(self._finish(y, orig, padded), {k: self._finish(v, orig, padded) for k, v in aux.items()})


class ScalarOutputModel(_EncoderDecoderModel):
    """Encoder → necks → decoder → pooled head for per-image tasks.

    ``classification`` gives ``(B, num_classes)`` logits; ``scalar_regression``
    gives ``(B,)`` (or ``(B, n)`` for ``n > 1`` outputs).
    """

    def _finish(self, y: Tensor) -> Tensor:
        if y.dim() != 2:
            raise ValueError(f"the head returned shape {tuple(y.shape)}; a scalar-output model needs (B, n)")
        if self.task == "scalar_regression" and y.shape[1] == 1:
            y = y[:, 0]
        return y

    def forward(self, x: Tensor | Mapping[str, Tensor], **kwargs: Any) -> ModelOutput:
        """Predict per image; extra kwargs go to the backbone when it accepts them."""
        feats, _, _ = self.encode(x, **kwargs)
        y, aux = self._heads(feats)
        return ModelOutput(self._finish(y), {k: self._finish(v) for k, v in aux.items()})
