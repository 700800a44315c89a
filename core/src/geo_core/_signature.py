"""The one signature inspector: which keyword arguments a callable or class accepts (torch-free)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

__all__ = ["accepted_arguments"]


def accepted_arguments(obj: Callable[..., Any], skip: int = 0, *, follow_mro: bool = False) -> tuple[list[str], bool]:
    """Return the keyword names ``obj`` accepts (after ``skip`` positionals) and whether it takes ``**kwargs``.

    With ``follow_mro`` and a class, a constructor taking ``**kwargs`` is followed up the MRO
    (the usual ``super().__init__(**kwargs)``): its parents' names count too, and ``**kwargs``
    stays open only if the chain ends in one that is not consumed.

    Example:
        >>> accepted_arguments(lambda a, b=1, **kw: None)
        (['a', 'b'], True)
    """
    if follow_mro and isinstance(obj, type):
        targets = [vars(c)["__init__"] for c in obj.__mro__ if "__init__" in vars(c)]
        names: list[str] = []
        for target in targets:
            if target is object.__init__:
                return names, True
            sub, var_kw = accepted_arguments(target, 1)
            names += [n for n in sub if n not in names]
            if not var_kw:
                return names, False
        return names, True
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return [], True
    params = list(sig.parameters.values())
    names = [p.name for p in params[skip:] if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    return names, any(p.kind is p.VAR_KEYWORD for p in params)
