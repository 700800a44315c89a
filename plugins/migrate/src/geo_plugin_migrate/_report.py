"""What a migration did: converted keys, notes, and keys that have no geo equivalent."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from geo_core import accepted_arguments, suggest

__all__ = ["MigrationReport", "closest", "accepted", "short_name"]


@dataclass
class MigrationReport:
    """What the migration changed, what it noted and what it could not map.

    Attributes:
        changes: ``"path: old -> new"`` lines, one per converted key or value.
        notes: Behaviour differences and dropped keys whose effect geo provides otherwise.
        unmapped: ``"path: what — suggestion"`` lines for keys with no geo equivalent; these keys are
            removed from the written config (so it runs) and listed in its header.
    """

    changes: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    unmapped: list[str] = field(default_factory=list)

    def change(self, path: str, old: Any, new: Any) -> None:
        """Record a conversion."""
        self.changes.append(f"{path}: {_show(old)} -> {_show(new)}")

    def note(self, path: str, text: str) -> None:
        """Record a behaviour note."""
        self.notes.append(f"{path}: {text}")

    def not_mapped(self, path: str, what: str, suggestion: str) -> None:
        """Record a key with no geo equivalent, with what to do instead."""
        self.unmapped.append(f"{path}: {what} — {suggestion}")


def _show(value: Any) -> str:
    if isinstance(value, str):
        return value
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def closest(name: str, pool: Iterable[str]) -> str:
    """``"did you mean 'x'?"`` for the closest candidate, else a short list of valid names."""
    cands = sorted(set(pool))
    close = suggest(name, cands)
    if close:
        return f"did you mean {close!r}?"
    shown = ", ".join(cands[:12]) + (", ..." if len(cands) > 12 else "")
    return f"valid here: {shown}" if cands else "remove it"


def short_name(class_path: str) -> str:
    """``terratorch.tasks.SemanticSegmentationTask`` -> ``SemanticSegmentationTask``."""
    return class_path.rsplit(".", 1)[-1]


def accepted(obj: Any, skip: int = 0) -> tuple[list[str], bool]:
    """Keyword names ``obj`` (a class or callable) accepts and whether it takes ``**kwargs``.

    Uses geo-core's one signature inspector; for classes it follows ``**kwargs`` up the MRO;
    ``skip`` drops leading positional parameters the factory fills (``channel_list``).
    """
    if isinstance(obj, type):
        names, var_kw = accepted_arguments(obj, follow_mro=True)
        return names[skip:], var_kw
    return accepted_arguments(obj, skip)
