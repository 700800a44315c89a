"""A check that a wrong checkpoint's error names its keys as the file spells them."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from geo_core._errors import CheckpointError

__all__ = ["check_key_report"]


def _expect_error(build: Callable[[Path], object], path: Path, pattern: str) -> None:
    try:
        build(path)
    except CheckpointError as exc:
        message = str(exc)
        if not re.search(pattern, message) or str(path) not in message:
            raise AssertionError(f"the CheckpointError should name {path} and match {pattern!r}: {message}") from exc
        return
    raise AssertionError(f"building from {path} should raise a CheckpointError matching {pattern!r}")


def check_key_report(
    build: Callable[[Path], object],
    state_dict: Mapping[str, Any],
    tmp_path: Path,
    *,
    drop: str,
    extra: str = "geo_unexpected.weight",
    wrap: Callable[[dict[str, Any]], object] | None = None,
) -> None:
    """Check that checkpoints with one key too few or too many fail naming that key, the count and the file.

    Writes two files with ``torch.save`` under ``tmp_path``: ``state_dict`` without ``drop``, and
    ``state_dict`` with ``extra`` added; ``build(path)`` must raise a
    :class:`~geo_core.CheckpointError` whose message names the file and reports, in
    :func:`geo_core.key_report`'s words, ``1 missing key ('<drop>')`` and ``1 unexpected key ('<extra>')``.

    Args:
        build: Builds the component from a checkpoint file (``lambda p: BACKBONES.build(name, ckpt_path=p)``).
        state_dict: A checkpoint that loads, keyed as the file spells them (prefixes included).
        tmp_path: Where the files are written.
        drop: A key of ``state_dict`` the component needs.
        extra: A key the component has no place for.
        wrap: Turns the state dict into what is saved (``lambda sd: {"model": sd}``); default as it is.

    Raises:
        AssertionError: No :class:`~geo_core.CheckpointError`, or one that does not name the key, count or file.

    Example:
        In a plugin's test, with a state dict saved from a random-init model::

            check_key_report(lambda p: BACKBONES.build("tiny", ckpt_path=p), sd, tmp_path, drop="blocks.1.norm.weight")
    """
    import torch

    if drop not in state_dict:
        raise AssertionError(f"drop={drop!r} is not a key of the state dict")
    keep = wrap or (lambda sd: sd)
    lacking = tmp_path / "lacking_a_key.pth"
    torch.save(keep({k: v for k, v in state_dict.items() if k != drop}), lacking)
    _expect_error(build, lacking, rf"\b1 missing key \({re.escape(repr(drop))}\)")
    surplus = tmp_path / "one_key_too_many.pth"
    torch.save(keep({**state_dict, extra: torch.zeros(1)}), surplus)
    _expect_error(build, surplus, rf"\b1 unexpected key \({re.escape(repr(extra))}\)")
