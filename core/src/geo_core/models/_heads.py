"""Heads that turn a decoder's output into predictions.

User-facing keys (``head_*`` in the factory, TerraTorch's names): ``dropout``,
``channel_list`` (hidden widths), ``activation`` (a ``torch.nn`` class name),
``final_act`` (regression), ``learned_upscale_layers`` (pixel-wise heads),
``linear_after_pool`` (classification).
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from geo_core.models._layers import get_activation

__all__ = ["SegmentationHead", "RegressionHead", "ClassificationHead", "PixelShuffleUpscale"]


class PixelShuffleUpscale(nn.Module):
    """Learned 2x upsampling: 3x3 conv to ``4 * channels``, pixel shuffle, BatchNorm, ReLU.

    Args:
        channels: Width in and out.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels * 4, 3, padding=1)
        self.shuffle = nn.PixelShuffle(2)
        self.bn = nn.BatchNorm2d(channels)
        self.act = nn.ReLU()

    def forward(self, x: Tensor) -> Tensor:
        """Return ``(B, C, 2h, 2w)``."""
        return self.act(self.bn(self.shuffle(self.conv(x))))  # type: ignore[no-any-return]


def _upscale(channels: int, layers: int) -> nn.Module:
    if layers < 0:
        raise ValueError(f"learned_upscale_layers must be >= 0, got {layers}")
    return nn.Sequential(*[PixelShuffleUpscale(channels) for _ in range(int(layers))]) if layers else nn.Identity()


def _conv_stack(c_in: int, widths: Sequence[int], activation: str | nn.Module) -> tuple[nn.Sequential, int]:
    get_activation(activation)  # validate the name even without hidden layers
    layers: list[nn.Module] = []
    for c in widths:
        layers += [nn.Conv2d(c_in, c, 3, padding=1), nn.BatchNorm2d(c), get_activation(activation)]
        c_in = c
    return nn.Sequential(*layers), c_in


class SegmentationHead(nn.Module):
    """Optional 3x3 conv layers, dropout, then a 1x1 convolution to ``num_classes``.

    Args:
        in_channels: Width of the decoder output.
        num_classes: Output channels.
        channel_list: Hidden conv widths (``head_channel_list``).
        dropout: Dropout before the last layer (``head_dropout``).
        activation: Activation after each hidden layer.
        learned_upscale_layers: Learned 2x upsampling steps (:class:`PixelShuffleUpscale`) before the
            hidden layers, for decoders whose output is coarser than the input.
    """

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        channel_list: Sequence[int] | None = None,
        dropout: float = 0.0,
        activation: str = "ReLU",
        learned_upscale_layers: int = 0,
    ) -> None:
        super().__init__()
        self.upscale = _upscale(in_channels, learned_upscale_layers)
        self.hidden, c = _conv_stack(in_channels, channel_list or [], activation)
        self.dropout = nn.Dropout(dropout) if dropout else nn.Identity()
        self.out = nn.Conv2d(c, num_classes, 1)
        self.num_classes = num_classes

    def forward(self, x: Tensor) -> Tensor:
        """Return ``(B, num_classes, h, w)`` (``h, w`` doubled per learned upscale layer)."""
        return self.out(self.dropout(self.hidden(self.upscale(x))))  # type: ignore[no-any-return]


class RegressionHead(nn.Module):
    """Like :class:`SegmentationHead` with ``num_outputs`` (default 1) channels and an optional final activation.

    Args:
        in_channels: Width of the decoder output.
        num_outputs: Output channels.
        channel_list: Hidden conv widths.
        dropout: Dropout before the last layer.
        activation: Activation after each hidden layer.
        final_act: Activation applied to the output (e.g. ``"Sigmoid"`` or ``"torch.nn.ReLU"``), none by
            default.
        learned_upscale_layers: Learned 2x upsampling steps before the hidden layers.
    """

    def __init__(
        self,
        in_channels: int,
        num_outputs: int = 1,
        channel_list: Sequence[int] | None = None,
        dropout: float = 0.0,
        activation: str = "ReLU",
        final_act: str | None = None,
        learned_upscale_layers: int = 0,
    ) -> None:
        super().__init__()
        self.upscale = _upscale(in_channels, learned_upscale_layers)
        self.hidden, c = _conv_stack(in_channels, channel_list or [], activation)
        self.dropout = nn.Dropout(dropout) if dropout else nn.Identity()
        self.out = nn.Conv2d(c, num_outputs, 1)
        self.final_act = get_activation(final_act)

    def forward(self, x: Tensor) -> Tensor:
        """Return ``(B, num_outputs, h, w)``."""
        return self.final_act(self.out(self.dropout(self.hidden(self.upscale(x)))))  # type: ignore[no-any-return]


class ClassificationHead(nn.Module):
    """Pool, then an MLP to ``num_classes`` (or ``num_outputs`` for scalar regression).

    Accepts ``(B, C, H, W)`` maps, ``(B, N, D)`` tokens or ``(B, D)`` vectors.

    Args:
        in_dim: Width of the decoder output.
        num_classes: Outputs.
        channel_list: Hidden widths (``dim_list`` is TerraTorch's alias).
        dropout: Dropout before each linear layer.
        activation: Activation after each hidden layer.
        linear_after_pool: Pool first (True) or apply the MLP per position and pool its output (False).
        dim_list: Alias of ``channel_list``.
    """

    def __init__(
        self,
        in_dim: int,
        num_classes: int,
        channel_list: Sequence[int] | None = None,
        dropout: float = 0.0,
        activation: str = "ReLU",
        linear_after_pool: bool = True,
        dim_list: Sequence[int] | None = None,
    ) -> None:
        super().__init__()
        if channel_list is not None and dim_list is not None:
            raise ValueError("ClassificationHead: give channel_list or its alias dim_list, not both")
        widths = list(channel_list if channel_list is not None else dim_list or [])
        get_activation(activation)  # validate the name even without hidden layers
        layers: list[nn.Module] = []
        c = in_dim
        for w in widths:
            layers += [nn.Dropout(dropout) if dropout else nn.Identity(), nn.Linear(c, w), get_activation(activation)]
            c = w
        layers += [nn.Dropout(dropout) if dropout else nn.Identity(), nn.Linear(c, num_classes)]
        self.mlp = nn.Sequential(*layers)
        self.linear_after_pool = linear_after_pool
        self.num_classes = num_classes

    def forward(self, x: Tensor) -> Tensor:
        """Return ``(B, num_classes)``."""
        if x.dim() == 4:
            x = x.flatten(2).transpose(1, 2)
        if x.dim() == 3:
            if self.linear_after_pool:
                x = x.mean(dim=1)
            else:
                return self.mlp(x).mean(dim=1)  # type: ignore[no-any-return]
        if x.dim() != 2:
            raise ValueError(f"ClassificationHead expects 2-, 3- or 4-D input, got shape {tuple(x.shape)}")
        return self.mlp(x)  # type: ignore[no-any-return]
