"""The one key report of checkpoint errors: how many keys are missing or unexpected, and which (torch-free)."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["key_report"]


def _listed(keys: Sequence[str], what: str, limit: int) -> str:
    shown = ", ".join(repr(k) for k in keys[:limit])
    noun = "key" if len(keys) == 1 else "keys"
    return f"{len(keys)} {what} {noun} ({shown}{', ...' if len(keys) > limit else ''})"


def key_report(missing: Sequence[str] = (), unexpected: Sequence[str] = (), *, limit: int = 6) -> str:
    """Describe the keys a checkpoint lacks and the keys it has in excess, for a :class:`CheckpointError`.

    Pass the keys as the file spells them (prefix included), so the user can find them in the file.

    Args:
        missing: Keys the model needs and the file lacks.
        unexpected: Keys of the file the model has no place for.
        limit: How many keys of each kind are shown (the count is always given).

    Returns:
        ``"2 missing keys ('a', 'b'); 1 unexpected key ('c')"``; empty parts are left out.

    Example:
        >>> key_report(["blocks.2.norm.weight"], ["head.weight", "head.bias"])
        "1 missing key ('blocks.2.norm.weight'); 2 unexpected keys ('head.weight', 'head.bias')"
    """
    parts = [_listed(list(missing), "missing", limit)] if missing else []
    parts += [_listed(list(unexpected), "unexpected", limit)] if unexpected else []
    return "; ".join(parts)
