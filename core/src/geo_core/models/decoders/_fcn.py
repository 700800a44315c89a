"""FCN decoder: repeated learned 2x upsampling of one feature map."""

from __future__ import annotations

from torch import Tensor, nn

from geo_core.models._layers import resolve_index

__all__ = ["FCNDecoder"]


class FCNDecoder(nn.Module):
    """``num_convs`` blocks of ``ConvTranspose2d(stride 2) -> BN -> ReLU`` (TerraTorch's FCNDecoder).

    Each block doubles the resolution, so four blocks bring a stride-16 map
    back to full resolution.

    Args:
        channel_list: Widths of the incoming features.
        channels: Width of every block (``out_channels``).
        num_convs: Number of upsampling blocks.
        in_index: Which feature to decode.
    """

    includes_head = False

    def __init__(self, channel_list: list[int], channels: int = 256, num_convs: int = 4, in_index: int = -1) -> None:
        super().__init__()
        if num_convs < 1:
            raise ValueError(f"FCNDecoder: num_convs must be >= 1, got {num_convs}")
        self.in_index = resolve_index(in_index, len(channel_list), "FCNDecoder")
        blocks: list[nn.Module] = []
        prev = channel_list[self.in_index]
        for _ in range(num_convs):
            blocks += [nn.ConvTranspose2d(prev, channels, 2, stride=2), nn.BatchNorm2d(channels), nn.ReLU(inplace=True)]
            prev = channels
        self.blocks = nn.Sequential(*blocks)
        self.out_channels = int(channels)

    def forward(self, features: list[Tensor]) -> Tensor:
        """Upsample the selected map."""
        return self.blocks(features[self.in_index])  # type: ignore[no-any-return]
