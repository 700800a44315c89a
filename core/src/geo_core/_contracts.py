"""The model contracts every component honours.

* Backbone: an ``nn.Module`` with ``out_channels: list[int]`` whose forward
  returns ``list[Tensor]`` (one per stage / selected layer). Token backbones
  return ``(B, N, D)`` tensors; CNNs ``(B, C, H, W)``.
* Decoder: constructor's first argument ``channel_list: list[int]``, attribute
  ``out_channels: int`` and class attribute ``includes_head: bool`` (True when
  the decoder already maps to ``num_classes``).
* Neck: :class:`Neck`.
* Whole model: :class:`Model`, returning :class:`ModelOutput`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import torch
from torch import Tensor, nn

__all__ = ["ModelOutput", "Model", "ModelFactory", "Neck", "freeze_module"]


@dataclass
class ModelOutput:
    """What every :class:`Model` returns.

    Attributes:
        output: The main prediction, e.g. ``(B, num_classes, H, W)`` logits.
        auxiliary_heads: Outputs of auxiliary decoders by name.
    """

    output: Tensor
    auxiliary_heads: dict[str, Tensor] = field(default_factory=dict)


def freeze_module(module: nn.Module) -> None:
    """Set ``requires_grad=False`` on every parameter and put ``module`` in eval mode."""
    for p in module.parameters():
        p.requires_grad_(False)
    module.eval()


def named_part(owner: nn.Module, attr: str, model_name: str) -> nn.Module:
    """Return ``owner.<attr>`` when it is a module, else raise ``NotImplementedError`` naming it."""
    part = getattr(owner, attr, None)
    if not isinstance(part, nn.Module):
        raise NotImplementedError(f"{model_name} has no {attr!r} to freeze")
    return part


def aux_names(owner: nn.Module) -> list[str] | None:
    """Keys of ``owner.aux_heads`` when it is a mapping or ``ModuleDict``, else None."""
    heads = getattr(owner, "aux_heads", None)
    return [str(k) for k in heads.keys()] if isinstance(heads, Mapping | nn.ModuleDict) else None


class Model(nn.Module, ABC):
    """A whole model: ``forward(x, **kwargs) -> ModelOutput``.

    This is everything a task relies on: :meth:`forward`, the freeze hooks
    (:meth:`freeze_encoder`, :meth:`freeze_decoder`, :meth:`freeze_head`),
    :meth:`auxiliary_head_names` and :attr:`num_classes`.

    Frozen parts stay in ``eval()`` mode even when ``train()`` is called, so
    BatchNorm statistics and dropout of a frozen encoder do not drift.
    Subclasses expose the parts as ``self.encoder``, ``self.decoder`` and
    ``self.head`` (override :meth:`encoder_modules` / :meth:`decoder_modules` /
    :meth:`head_modules` otherwise); a hook whose part is missing raises
    ``NotImplementedError`` and the task turns it into a ``ConfigError``.
    A plain ``nn.Module`` becomes a Model through :class:`geo_core.models.FullModel`.

    Attributes:
        num_classes: Output classes when the model knows them (segmentation
            metrics read it when ``model_args`` do not say); None otherwise.
    """

    num_classes: int | None = None

    def __init__(self) -> None:
        super().__init__()
        self._frozen: list[str] = []

    @abstractmethod
    def forward(self, x: Tensor, **kwargs: Any) -> ModelOutput:
        """Run the model."""

    def encoder_modules(self) -> list[nn.Module]:
        """Modules that :meth:`freeze_encoder` freezes (default: ``self.encoder``)."""
        return [named_part(self, "encoder", type(self).__name__)]

    def decoder_modules(self) -> list[nn.Module]:
        """Modules that :meth:`freeze_decoder` freezes (default: ``self.decoder``)."""
        return [named_part(self, "decoder", type(self).__name__)]

    def head_modules(self) -> list[nn.Module]:
        """Modules that :meth:`freeze_head` freezes (default: ``self.head``)."""
        return [named_part(self, "head", type(self).__name__)]

    def auxiliary_head_names(self) -> list[str] | None:
        """Keys ``forward`` fills in ``ModelOutput.auxiliary_heads`` (default: ``self.aux_heads``'s), None if unknown.

        Tasks check their ``aux_loss`` weights against these names.
        """
        return aux_names(self)

    def _freeze(self, modules: list[nn.Module]) -> None:
        names = {id(m): n for n, m in self.named_modules()}
        for m in modules:
            freeze_module(m)
            n = names.get(id(m))
            if n is not None and n not in self._frozen:
                self._frozen.append(n)

    def freeze_encoder(self) -> None:
        """Freeze the encoder: no gradients, kept in eval mode."""
        self._freeze(self.encoder_modules())

    def freeze_decoder(self) -> None:
        """Freeze the decoder: no gradients, kept in eval mode."""
        self._freeze(self.decoder_modules())

    def freeze_head(self) -> None:
        """Freeze the head only (TerraTorch's ``freeze_head``)."""
        self._freeze(self.head_modules())

    def train(self, mode: bool = True) -> Model:
        """Set training mode, keeping frozen parts in eval mode."""
        super().train(mode)
        if mode:
            mods = dict(self.named_modules())
            for n in self._frozen:
                if n in mods:
                    mods[n].eval()
        return self


@runtime_checkable
class ModelFactory(Protocol):
    """Builds a :class:`Model` for a task."""

    def build_model(self, task: str, **kwargs: Any) -> Model:
        """Build the model for ``task`` (``segmentation``, ``regression``, ``classification``, ...)."""
        ...


class Neck(nn.Module, ABC):
    """Transforms a backbone's feature list between backbone and decoder.

    ``process_channel_list`` must return the widths the tensors really have
    after ``forward``; token necks receive the real ``image_size``.
    """

    def __init__(self, channel_list: list[int]) -> None:
        super().__init__()
        self.channel_list = list(channel_list)

    @abstractmethod
    def process_channel_list(self, channel_list: list[int]) -> list[int]:
        """Return the channel list after this neck."""

    @abstractmethod
    def forward(self, features: list[Tensor], image_size: tuple[int, int] | None = None) -> list[Tensor]:
        """Transform the feature list."""


def _ensure_tensor_list(features: Any, where: str) -> list[Tensor]:
    if isinstance(features, torch.Tensor):
        return [features]
    if not isinstance(features, (list, tuple)) or not all(isinstance(f, torch.Tensor) for f in features):
        raise TypeError(f"{where} must return a list of tensors, got {type(features).__name__}")
    return list(features)
