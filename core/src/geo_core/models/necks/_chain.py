"""Building a chain of necks from config dicts (``{"name": ..., **kwargs}``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from torch import Tensor, nn

from geo_core._contracts import Neck

__all__ = ["NeckChain", "build_necks"]


class NeckChain(nn.Module):
    """Run necks in order, passing the real input size to each."""

    def __init__(self, necks: Sequence[nn.Module]) -> None:
        super().__init__()
        self.necks = nn.ModuleList(necks)

    def forward(self, features: list[Tensor], image_size: tuple[int, int] | None = None) -> list[Tensor]:
        """Apply every neck."""
        for neck in self.necks:
            features = neck(features, image_size=image_size) if isinstance(neck, Neck) else neck(features)
        return features

    def __len__(self) -> int:
        return len(self.necks)


def build_necks(
    necks: Sequence[Mapping[str, Any] | nn.Module] | None, channel_list: list[int]
) -> tuple[NeckChain, list[int]]:
    """Build necks from ``[{"name": "SelectIndices", "indices": [0, 1]}, ...]`` or ready modules.

    Returns:
        The chain and the channel list after it.
    """
    from geo_core._registries import NECKS

    built: list[nn.Module] = []
    channels = list(channel_list)
    for i, spec in enumerate(necks or []):
        if isinstance(spec, nn.Module):
            neck = spec
        elif isinstance(spec, Mapping):
            args = dict(spec)
            name = args.pop("name", None)
            if not isinstance(name, str):
                raise ValueError(f"necks[{i}] needs a 'name' key naming a neck, got {dict(spec)!r}")
            try:
                neck = NECKS.build(name, channels, **args)
            except TypeError as exc:
                raise TypeError(f"necks[{i}] ({name}): {exc}") from exc
        else:
            raise TypeError(f"necks[{i}] must be a dict with 'name' or an nn.Module, got {type(spec).__name__}")
        if hasattr(neck, "process_channel_list"):
            channels = list(neck.process_channel_list(channels))  # type: ignore[operator]
        built.append(neck)
    return NeckChain(built), channels
