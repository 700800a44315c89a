"""Decoders that act on one feature: identity, linear and per-pixel MLP."""

from __future__ import annotations

from torch import Tensor, nn

from geo_core.models._layers import get_activation, resolve_index

__all__ = ["IdentityDecoder", "LinearDecoder", "MLPDecoder"]


def _channels_last(module: nn.Module, x: Tensor) -> Tensor:
    """Apply ``module`` (Linear layers) over the channel dim of ``(B, C, H, W)`` or ``(B, C)``."""
    if x.dim() == 4:
        return module(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)  # type: ignore[no-any-return]
    if x.dim() == 3:  # tokens (B, N, D)
        return module(x)  # type: ignore[no-any-return]
    return module(x)  # type: ignore[no-any-return]


class IdentityDecoder(nn.Module):
    """Pass one feature through unchanged (a head does the work).

    Args:
        channel_list: Widths of the incoming features.
        out_index: Which feature to return.
    """

    includes_head = False

    def __init__(self, channel_list: list[int], out_index: int = -1) -> None:
        super().__init__()
        self.out_index = resolve_index(out_index, len(channel_list), "IdentityDecoder")
        self.out_channels = int(channel_list[self.out_index])

    def forward(self, features: list[Tensor]) -> Tensor:
        """Return ``features[out_index]``."""
        return features[self.out_index]


class LinearDecoder(nn.Module):
    """A linear layer from one feature to ``num_classes`` (includes the head).

    Args:
        channel_list: Widths of the incoming features.
        num_classes: Output channels.
        out_index: Which feature to decode.
    """

    includes_head = True

    def __init__(self, channel_list: list[int], num_classes: int, out_index: int = -1) -> None:
        super().__init__()
        self.out_index = resolve_index(out_index, len(channel_list), "LinearDecoder")
        self.linear = nn.Linear(channel_list[self.out_index], num_classes)
        self.out_channels = int(num_classes)

    def forward(self, features: list[Tensor]) -> Tensor:
        """Map the selected feature to ``num_classes`` channels (resolution kept)."""
        return _channels_last(self.linear, features[self.out_index])


class MLPDecoder(nn.Module):
    """A per-pixel (or per-vector) MLP on one feature.

    Args:
        channel_list: Widths of the incoming features.
        channels: Hidden and output width (``out_channels``).
        num_layers: Linear layers.
        activation: ``torch.nn`` activation name between layers.
        dropout: Dropout between layers.
        out_index: Which feature to decode.
    """

    includes_head = False

    def __init__(
        self,
        channel_list: list[int],
        channels: int = 100,
        num_layers: int = 2,
        activation: str = "ReLU",
        dropout: float = 0.0,
        out_index: int = -1,
    ) -> None:
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"MLPDecoder: num_layers must be >= 1, got {num_layers}")
        self.out_index = resolve_index(out_index, len(channel_list), "MLPDecoder")
        layers: list[nn.Module] = []
        prev = channel_list[self.out_index]
        for _ in range(num_layers):
            layers += [nn.Linear(prev, channels), get_activation(activation)]
            if dropout:
                layers.append(nn.Dropout(dropout))
            prev = channels
        self.mlp = nn.Sequential(*layers)
        self.out_channels = int(channels)

    def forward(self, features: list[Tensor]) -> Tensor:
        """Apply the MLP over channels."""
        return _channels_last(self.mlp, features[self.out_index])
