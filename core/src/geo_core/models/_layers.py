"""Small building blocks shared by decoders and heads."""

from __future__ import annotations

from torch import nn

__all__ = ["get_activation", "conv_bn_act", "resolve_index"]


def get_activation(activation: str | nn.Module | type[nn.Module] | None) -> nn.Module:
    """Return an activation module from a ``torch.nn`` class name (case-insensitive), class or instance.

    Dotted names (``torch.nn.ReLU``, as TerraTorch configs write them) are accepted.

    Example:
        >>> get_activation("gelu")
        GELU(approximate='none')
    """
    if activation is None:
        return nn.Identity()
    if isinstance(activation, nn.Module):
        return activation
    if isinstance(activation, type) and issubclass(activation, nn.Module):
        return activation()
    by_lower = {n.lower(): n for n in dir(nn) if isinstance(getattr(nn, n), type)}
    text = str(activation)
    for prefix in ("torch.nn.modules.activation.", "torch.nn.", "nn."):  # TerraTorch's dotted spelling
        text = text.removeprefix(prefix)
    name = by_lower.get(text.lower())
    if name is None:
        raise ValueError(f"unknown activation {activation!r}; give a torch.nn class name such as 'ReLU' or 'GELU'")
    cls = getattr(nn, name)
    if not issubclass(cls, nn.Module):  # pragma: no cover - defensive
        raise ValueError(f"{activation!r} is not an nn.Module")
    return cls()  # type: ignore[no-any-return]


def conv_bn_act(c_in: int, c_out: int, kernel: int = 3, *, dilation: int = 1, norm: bool = True) -> nn.Sequential:
    """``Conv2d -> BatchNorm2d -> ReLU`` with 'same' padding."""
    pad = dilation * (kernel - 1) // 2
    layers: list[nn.Module] = [nn.Conv2d(c_in, c_out, kernel, padding=pad, dilation=dilation, bias=not norm)]
    if norm:
        layers.append(nn.BatchNorm2d(c_out))
    layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


def resolve_index(index: int, n: int, who: str) -> int:
    """Check ``index`` against a list of ``n`` features; return it non-negative."""
    if not -n <= index < n:
        raise ValueError(f"{who}: index {index} out of range for {n} input features")
    return index % n
