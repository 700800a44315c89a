"""Window samplers: cut chips from large scenes on a grid or at random positions.

Only the scene size is read up front (metadata); pixels are read window by
window when a sample is drawn.
"""

from __future__ import annotations

from typing import Literal

from geo_core import ConfigError

__all__ = ["grid_windows", "scene_windows"]


def _starts(total: int, size: int, stride: int) -> list[int]:
    if total <= size:
        return [0]
    starts = list(range(0, total - size + 1, stride))
    if starts[-1] != total - size:  # cover the far edge with one last, shifted window
        starts.append(total - size)
    return starts


def grid_windows(
    height: int, width: int, size: int | tuple[int, int], stride: int | tuple[int, int] | None = None
) -> list[tuple[int, int, int, int]]:
    """Return ``(row, col, h, w)`` windows covering an ``height x width`` scene.

    Windows have the full chip size (the last row/column is shifted inwards);
    scenes smaller than a chip give one window read with padding.

    Example:
        >>> grid_windows(5, 4, 2)[:3]
        [(0, 0, 2, 2), (0, 2, 2, 2), (2, 0, 2, 2)]
    """
    h, w = (size, size) if isinstance(size, int) else size
    if stride is None:
        sh, sw = h, w
    else:
        sh, sw = (stride, stride) if isinstance(stride, int) else stride
    if min(h, w, sh, sw) <= 0:
        raise ConfigError(f"chip size and stride must be positive, got {size} / {stride}", key="chip_size")
    return [(r, c, h, w) for r in _starts(height, h, sh) for c in _starts(width, w, sw)]


def scene_windows(
    height: int,
    width: int,
    size: int | tuple[int, int],
    sampler: Literal["grid", "random"] = "grid",
    stride: int | tuple[int, int] | None = None,
    chips_per_scene: int | None = None,
) -> list[object]:
    """Windows of one scene for a dataset: fixed grid windows, or random-window markers.

    A random marker ``("random", H, W, h, w)`` is resolved to a fresh position each
    time the sample is read (so each epoch sees new chips). ``chips_per_scene``
    defaults to the number of grid windows.
    """
    grid = grid_windows(height, width, size, stride)
    if sampler == "grid":
        return list(grid)
    if sampler != "random":
        raise ConfigError(f"chip_sampler must be 'grid' or 'random', got {sampler!r}", key="chip_sampler")
    h, w = (size, size) if isinstance(size, int) else size
    n = chips_per_scene or len(grid)
    return [("random", height, width, h, w)] * n
