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
        upsampling_size: TerraTorch's option: a transposed convolution with this
            kernel and stride instead (learned upsampling). Without it the
            resolution is kept and the model rescales the output.
        in_index: Which feature to decode.
    """

    includes_head = True

    def __init__(
        self, channel_list: list[int], num_classes: int, upsampling_size: int | None = None, in_index: int = -1
    ) -> None:
        super().__init__()
        self.in_index = resolve_index(in_index, len(channel_list), "LinearDecoder")
        c = channel_list[self.in_index]
        self.linear: nn.Module = (
            nn.Linear(c, num_classes)
            if not upsampling_size
            else nn.ConvTranspose2d(c, num_classes, upsampling_size, stride=upsampling_size)
        )
        self.upsampling_size = upsampling_size
        self.out_channels = int(num_classes)

    def forward(self, features: list[Tensor]) -> Tensor:
        """Map the selected feature to ``num_classes`` channels."""
        if self.upsampling_size:
            return self.linear(features[self.in_index])  # type: ignore[no-any-return]
        return _channels_last(self.linear, features[self.in_index])


class MLPDecoder(nn.Module):
    """A per-pixel (or per-vector) MLP on one feature.

    Args:
        channel_list: Widths of the incoming features.
        channels: Hidden width.
        num_layers: Linear layers.
        out_dim: Output width (``out_channels``); ``channels`` when not given.
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
        out_dim: int | None = None,
    ) -> None:
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"MLPDecoder: num_layers must be >= 1, got {num_layers}")
        self.out_index = resolve_index(out_index, len(channel_list), "MLPDecoder")
        layers: list[nn.Module] = []
        prev = channel_list[self.out_index]
        for i in range(num_layers):
            width = out_dim if out_dim and i == num_layers - 1 else channels
            layers += [nn.Linear(prev, width), get_activation(activation)]
            if dropout:
                layers.append(nn.Dropout(dropout))
            prev = width
        self.mlp = nn.Sequential(*layers)
        self.out_channels = int(prev)

    def forward(self, features: list[Tensor]) -> Tensor:
        """Apply the MLP over channels."""
        return _channels_last(self.mlp, features[self.out_index])
