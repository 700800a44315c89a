"""FullModelFactory: a whole model from the ``MODELS`` registry, wrapped to the Model contract."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch.nn.functional as F
from torch import Tensor, nn

from geo_core._contracts import Model, ModelOutput, aux_names, named_part
from geo_core.models._routing import check_arguments, filter_kwargs, forward_kwargs

__all__ = ["FullModelFactory", "FullModel", "as_model"]

_PIXEL_TASKS = ("segmentation", "regression")


class FullModel(Model):
    """Wrap any ``nn.Module`` so that ``forward`` returns :class:`~geo_core.ModelOutput`.

    A tensor output becomes ``ModelOutput(output)``; a ``ModelOutput`` passes
    through; a tuple/list uses its first element; a dict its ``"output"`` key
    (other tensor entries become auxiliary heads). ``freeze_encoder`` /
    ``freeze_decoder`` / ``freeze_head`` act on the wrapped model's ``encoder`` /
    ``decoder`` / ``head``; ``num_classes`` and the auxiliary head names are the
    wrapped model's when it has them.

    Args:
        model: The wrapped model.
        task: The task, for ``rescale`` (pixel tasks only).
        rescale: Interpolate 4-D pixel outputs to the input size.
    """

    def __init__(self, model: nn.Module, task: str = "segmentation", rescale: bool = True) -> None:
        super().__init__()
        self.model = model
        self.task = task
        self.rescale = rescale
        self._kwargs = forward_kwargs(model)
        n = getattr(model, "num_classes", None)
        self.num_classes = n if isinstance(n, int) else None

    def encoder_modules(self) -> list[nn.Module]:
        """The wrapped model's ``encoder``."""
        return [named_part(self.model, "encoder", type(self.model).__name__)]

    def decoder_modules(self) -> list[nn.Module]:
        """The wrapped model's ``decoder``."""
        return [named_part(self.model, "decoder", type(self.model).__name__)]

    def head_modules(self) -> list[nn.Module]:
        """The wrapped model's ``head``."""
        return [named_part(self.model, "head", type(self.model).__name__)]

    def auxiliary_head_names(self) -> list[str] | None:
        """The wrapped model's ``aux_heads`` keys (None when it has none declared)."""
        return aux_names(self.model)

    def forward(self, x: Tensor, **kwargs: Any) -> ModelOutput:
        """Run the wrapped model and normalise its output."""
        out = self.model(x, **filter_kwargs(kwargs, self._kwargs))
        aux: dict[str, Tensor] = {}
        if isinstance(out, ModelOutput):
            main, aux = out.output, dict(out.auxiliary_heads)
        elif isinstance(out, Tensor):
            main = out
        elif isinstance(out, (tuple, list)) and out and isinstance(out[0], Tensor):
            main = out[0]
        elif isinstance(out, Mapping) and isinstance(out.get("output"), Tensor):
            main = out["output"]
            aux = {k: v for k, v in out.items() if k != "output" and isinstance(v, Tensor)}
        else:
            raise TypeError(
                f"{type(self.model).__name__} returned {type(out).__name__}; FullModel needs a tensor, "
                "a ModelOutput, a tuple starting with a tensor or a dict with 'output'"
            )
        if self.rescale and self.task in _PIXEL_TASKS and main.dim() == 4 and main.shape[-2:] != x.shape[-2:]:
            main = F.interpolate(main, size=x.shape[-2:], mode="bilinear", align_corners=False)
        return ModelOutput(main, aux)


def as_model(module: nn.Module, task: str = "segmentation") -> Model:
    """Return ``module`` when it is a :class:`~geo_core.Model`, else wrapped in :class:`FullModel`.

    The wrapper normalises the output to :class:`~geo_core.ModelOutput` and does not rescale
    (the module's output is used as it comes); its parameters move under ``model.``.

    Raises:
        TypeError: ``module`` is not an ``nn.Module``.
    """
    if isinstance(module, Model):
        return module
    if not isinstance(module, nn.Module):
        raise TypeError(
            f"model must be a geo_core.Model or a torch nn.Module, got {type(module).__name__}; "
            "or give model_factory + model_args instead"
        )
    return FullModel(module, task=task, rescale=False)


class FullModelFactory:
    """Build a whole model registered in ``MODELS`` (e.g. a Prithvi MAE) and wrap it in :class:`FullModel`.

    Example:
        >>> import geo_core, torch
        >>> @geo_core.MODELS.register(name="doc_identity")
        ... def build(channels: int = 3) -> torch.nn.Module:
        ...     return torch.nn.Conv2d(channels, channels, 1)
        >>> model = FullModelFactory().build_model("segmentation", model="doc_identity", channels=2)
        >>> model(torch.zeros(1, 2, 8, 8)).output.shape
        torch.Size([1, 2, 8, 8])
        >>> geo_core.MODELS.unregister("doc_identity")
    """

    def build_model(
        self,
        task: str,
        model: str | nn.Module | Callable[..., nn.Module],
        rescale: bool = True,
        peft_config: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> FullModel:
        """Build ``model`` with ``kwargs`` and wrap it.

        Args:
            task: The task (used for ``rescale``).
            model: ``MODELS`` registry name, ready module or builder.
            rescale: Interpolate 4-D pixel outputs to the input size.
            peft_config: As for :class:`~geo_core.models.EncoderDecoderFactory`; applied to the
                model's ``encoder`` when it has one, else to the whole model.
            **kwargs: The model's own arguments (unknown ones are an error naming them).
        """
        if isinstance(model, nn.Module):
            if kwargs:
                from geo_core._errors import UnusedArgumentError

                raise UnusedArgumentError(list(kwargs), "FullModelFactory with a ready model module")
            net = model
        else:
            if isinstance(model, str):
                from geo_core._registries import MODELS

                builder = MODELS.get(model)
            else:
                builder = model
            check_arguments(builder, kwargs, prefix="", where=f"model {model!r}")
            net = builder(**kwargs)
        if peft_config is not None:
            from geo_core.models._peft import apply_peft

            enc = getattr(net, "encoder", None)
            apply_peft(enc if isinstance(enc, nn.Module) else net, peft_config)
        return FullModel(net, task=task, rescale=rescale)
