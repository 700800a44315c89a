"""What a migration did: converted keys, notes, and keys that have no geo equivalent."""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

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
    close = difflib.get_close_matches(name, cands, n=1, cutoff=0.6)
    if close:
        return f"did you mean {close[0]!r}?"
    shown = ", ".join(cands[:12]) + (", ..." if len(cands) > 12 else "")
    return f"valid here: {shown}" if cands else "remove it"


def short_name(class_path: str) -> str:
    """``terratorch.tasks.SemanticSegmentationTask`` -> ``SemanticSegmentationTask``."""
    return class_path.rsplit(".", 1)[-1]


def accepted(obj: Any, skip: int = 0) -> tuple[list[str], bool]:
    """Keyword names ``obj`` (a class or callable) accepts and whether it takes ``**kwargs``.

    Classes use the run configuration's inspector (it follows ``**kwargs`` up the MRO);
    ``skip`` drops leading positional parameters the factory fills (``channel_list``).
    """
    if isinstance(obj, type):
        from geo_core.runs._config import _params

        names, var_kw = _params(obj)
        return list(names[skip:]), bool(var_kw)
    from geo_core.models._routing import accepted_arguments

    try:
        inspect.signature(obj)
    except (TypeError, ValueError):
        return [], True
    return accepted_arguments(obj, skip)
