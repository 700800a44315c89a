"""The one did-you-mean helper: closest names for error messages (torch-free)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["close_matches", "suggest"]


def close_matches(name: str, candidates: Iterable[str], *, n: int = 3, cutoff: float = 0.6) -> list[str]:
    """Return up to ``n`` candidates closest to ``name``: a case-insensitive equal first, then difflib's.

    Example:
        >>> close_matches("unetdecoder", ["UNetDecoder", "FCNDecoder"])
        ['UNetDecoder']
    """
    pool = list(dict.fromkeys(candidates))
    lower = {c.lower(): c for c in pool}
    out = [lower[name.lower()]] if name.lower() in lower else []
    out += [c for c in difflib.get_close_matches(name, pool, n=n, cutoff=cutoff) if c not in out]
    return out[:n]


def suggest(name: str, candidates: Iterable[str], *, cutoff: float = 0.6) -> str | None:
    """Return the closest candidate to ``name`` or None (see :func:`close_matches`)."""
    close = close_matches(name, candidates, n=1, cutoff=cutoff)
    return close[0] if close else None
