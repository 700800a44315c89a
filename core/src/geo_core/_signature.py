"""The one signature inspector: which keyword arguments a callable or class accepts (torch-free).

Everything in geo that reads a signature goes through here: :func:`parameters` (the raw
parameters, for annotation and default checks), :func:`accepted_arguments` (keyword names),
:func:`constructor_parameters` (a class's keyword parameters along its ``**kwargs`` chain, with
their defaults) and :func:`bind_variant` (a per-variant builder that shows its family builder's
signature).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["accepted_arguments", "bind_variant", "constructor_parameters", "parameters"]

_R = TypeVar("_R")


def parameters(obj: Callable[..., Any], skip: int = 0) -> list[inspect.Parameter] | None:
    """Return ``obj``'s parameters after ``skip`` leading ones, or None when it has no signature (builtins).

    Example:
        >>> [p.name for p in parameters(lambda a, b=1: None, 1)]
        ['b']
    """
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return None
    return list(sig.parameters.values())[skip:]


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
        found, var_kw = constructor_parameters(obj)
        return list(found), var_kw
    params = parameters(obj)
    if params is None:
        return [], True
    names = [p.name for p in params[skip:] if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    return names, any(p.kind is p.VAR_KEYWORD for p in params)


def constructor_parameters(cls: type) -> tuple[dict[str, inspect.Parameter], bool]:
    """Return ``cls``'s keyword parameters by name and whether its constructor chain ends open to ``**kwargs``.

    A constructor taking ``**kwargs`` is followed up the MRO (the usual ``super().__init__(**kwargs)``);
    where two constructors declare a name, the first in the MRO gives its parameter (and default).

    Example:
        >>> class A:
        ...     def __init__(self, *, a=1, b=2): ...
        >>> class B(A):
        ...     def __init__(self, *, b=3, **kw): super().__init__(b=b, **kw)
        >>> found, open_kwargs = constructor_parameters(B)
        >>> {n: p.default for n, p in found.items()}, open_kwargs
        ({'b': 3, 'a': 1}, False)
    """
    found: dict[str, inspect.Parameter] = {}
    for target in [vars(c)["__init__"] for c in cls.__mro__ if "__init__" in vars(c)]:
        if target is object.__init__:
            return found, True
        params = parameters(target, 1)
        if params is None:  # no signature to read: look further up
            continue
        for p in params:
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
                found.setdefault(p.name, p)
        if not any(p.kind is p.VAR_KEYWORD for p in params):
            return found, False
    return found, True


def bind_variant(
    build: Callable[..., _R], variant: str, *, name: str | None = None, doc: str = ""
) -> Callable[..., _R]:
    """Return a keyword-only builder ``f(**kw) = build(variant, **kw)`` that shows ``build``'s signature.

    Plugins register one entry point per variant of a family builder; the bound builder keeps every
    parameter but the first visible to config checks and ``geo info``.

    Args:
        build: The family builder; its first parameter takes the variant name.
        variant: The variant passed as that first argument.
        name: ``__name__`` of the result (default: ``variant``).
        doc: Its docstring.

    Example:
        >>> tiny = bind_variant(lambda variant, depth=2: (variant, depth), "tiny")
        >>> tiny(depth=3), accepted_arguments(tiny)
        (('tiny', 3), (['depth'], False))
    """

    def builder(**kwargs: Any) -> _R:
        return build(variant, **kwargs)

    sig = inspect.signature(build)
    builder.__signature__ = sig.replace(parameters=list(sig.parameters.values())[1:])  # type: ignore[attr-defined]
    builder.__name__ = builder.__qualname__ = name or variant
    builder.__doc__ = doc
    return builder
