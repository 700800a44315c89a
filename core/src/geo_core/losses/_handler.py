"""Loss construction by name or weighted dict, and the main + auxiliary-head :class:`LossHandler`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from geo_core._errors import ConfigError, UnknownComponentError
from geo_core._signature import accepted_arguments
from geo_core._suggest import suggest

__all__ = ["WeightedSumLoss", "build_loss", "LossHandler"]

LossSpec = str | Mapping[str, float] | nn.Module


class WeightedSumLoss(nn.Module):
    """``sum(weight_i * loss_i)``; the last components are kept in :attr:`last_components` for logging."""

    def __init__(self, losses: Mapping[str, nn.Module], weights: Mapping[str, float]) -> None:
        super().__init__()
        self.losses = nn.ModuleDict(dict(losses))
        self.weights = dict(weights)
        self.last_components: dict[str, Tensor] = {}

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        """Weighted sum of every component."""
        parts = {n: fn(pred, target) for n, fn in self.losses.items()}
        self.last_components = {n: v.detach() for n, v in parts.items()}
        return sum((self.weights[n] * v for n, v in parts.items()), torch.zeros((), device=pred.device))


def _call_builder(name: str, **common: Any) -> nn.Module:
    from geo_core import LOSSES

    try:
        builder = LOSSES.get(name)
    except UnknownComponentError as exc:
        raise ConfigError(f"unknown loss {name!r}: {exc}", key="loss") from exc
    params, var_kw = accepted_arguments(builder)
    kwargs = {k: v for k, v in common.items() if v is not None and (var_kw or k in params)}
    dropped = [k for k, v in common.items() if v is not None and k not in kwargs and k != "ignore_index"]
    if dropped:
        raise ConfigError(f"loss {name!r} does not support {', '.join(dropped)}", key=dropped[0])
    module = builder(**kwargs)
    if not isinstance(module, nn.Module):
        raise TypeError(f"loss builder {name!r} returned {type(module).__name__}, expected an nn.Module")
    return module


def build_loss(
    spec: LossSpec, *, ignore_index: float | None = None, class_weights: Sequence[float] | None = None
) -> nn.Module:
    """Build a loss from a name (``"ce"``), a weighted dict (``{"ce": 1, "dice": 0.5}``) or a module.

    ``ignore_index`` and ``class_weights`` go to every builder that accepts them; asking for
    class weights from a loss that cannot use them is a :class:`~geo_core.ConfigError`.

    Example:
        >>> build_loss({"ce": 1.0, "dice": 0.5}, ignore_index=255).weights
        {'ce': 1.0, 'dice': 0.5}
    """
    if isinstance(spec, nn.Module):
        return spec
    if isinstance(spec, str):
        return _call_builder(spec, ignore_index=ignore_index, class_weights=class_weights)
    if isinstance(spec, Mapping):
        if not spec:
            raise ConfigError("loss dict is empty; give at least one {name: weight}", key="loss")
        losses = {n: _call_builder(n, ignore_index=ignore_index, class_weights=class_weights) for n in spec}
        return WeightedSumLoss(losses, {n: float(w) for n, w in spec.items()})
    raise ConfigError(
        f"loss must be a name, a {{name: weight}} dict or an nn.Module, got {type(spec).__name__}", key="loss"
    )


def _match_size(pred: Tensor, target: Tensor) -> Tensor:
    if pred.ndim == 4 and target.ndim >= 3 and pred.shape[-2:] != target.shape[-2:]:
        return nn.functional.interpolate(pred, size=target.shape[-2:], mode="bilinear", align_corners=False)
    return pred


class LossHandler(nn.Module):
    """Main loss plus weighted auxiliary-head losses.

    Args:
        criterion: Loss of the main output.
        aux_loss: ``{head name: weight}``; every name must be an auxiliary head of the model.
        aux_criterion: Loss of the auxiliary heads (defaults to ``criterion``).

    :meth:`compute` returns ``{"loss": total, "main": ..., "aux/<head>": ..., "<component>": ...}``
    (components of a weighted-dict main loss are listed by their names).
    """

    def __init__(
        self, criterion: nn.Module, aux_loss: Mapping[str, float] | None = None, aux_criterion: nn.Module | None = None
    ) -> None:
        super().__init__()
        self.criterion = criterion
        self.aux_loss = dict(aux_loss or {})
        self.aux_criterion = aux_criterion

    def check_heads(self, head_names: Sequence[str]) -> None:
        """Raise :class:`~geo_core.ConfigError` unless ``aux_loss`` names exactly existing heads."""
        heads = list(head_names)
        for n in self.aux_loss:
            if n not in heads:
                close = suggest(n, heads)
                hint = f"; did you mean {close!r}?" if close else f"; the model's auxiliary heads are {heads}"
                raise ConfigError(f"aux_loss names head {n!r}, which the model does not have{hint}", key="aux_loss")
        missing = [h for h in heads if h not in self.aux_loss]
        if missing:
            raise ConfigError(
                f"the model has auxiliary head(s) {missing} without a weight in aux_loss; "
                f"add e.g. aux_loss: {{{missing[0]}: 0.4}}",
                key="aux_loss",
            )

    def compute(self, main: Tensor, target: Tensor, auxiliary: Mapping[str, Tensor] | None = None) -> dict[str, Tensor]:
        """Total loss and its parts for one batch."""
        out: dict[str, Tensor] = {}
        total = self.criterion(main, target)
        out["main"] = total.detach()
        comps = getattr(self.criterion, "last_components", None)
        if comps:
            out.update(comps)
        auxiliary = auxiliary or {}
        if auxiliary or self.aux_loss:
            self.check_heads(list(auxiliary))
        aux_fn = self.aux_criterion or self.criterion
        for name, pred in auxiliary.items():
            val = aux_fn(_match_size(pred, target), target)
            out[f"aux/{name}"] = val.detach()
            total = total + self.aux_loss[name] * val
        out["loss"] = total
        return out
