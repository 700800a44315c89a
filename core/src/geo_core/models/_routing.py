"""Routing flat ``backbone_*`` / ``decoder_*`` / ``head_*`` arguments and reporting unused ones."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from geo_core._errors import ConfigError, UnusedArgumentError
from geo_core._signature import accepted_arguments
from geo_core._suggest import suggest

__all__ = ["PREFIXES", "route_prefixed", "check_arguments", "suggest", "accepted_arguments", "forward_kwargs",
           "filter_kwargs"]

#: The routed parts, in the order prefixes are tried. A key is split on the
#: known prefix only, so ``backbone_head_dim`` is the backbone's ``head_dim``.
PREFIXES: tuple[str, ...] = ("backbone", "decoder", "head")


def route_prefixed(
    kwargs: Mapping[str, Any], explicit: Mapping[str, Mapping[str, Any] | None]
) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """Split flat kwargs by prefix and merge them with the explicit ``<part>_kwargs`` dicts.

    Returns:
        ``{part: kwargs}`` for every part in :data:`PREFIXES`, and the unrouted rest.

    Raises:
        ConfigError: An argument is given both flat and in ``<part>_kwargs``.
    """
    parts: dict[str, dict[str, Any]] = {p: dict(explicit.get(p) or {}) for p in PREFIXES}
    rest: dict[str, Any] = {}
    for key, value in kwargs.items():
        part = next((p for p in PREFIXES if key.startswith(p + "_") and len(key) > len(p) + 1), None)
        if part is None:
            rest[key] = value
            continue
        sub = key[len(part) + 1:]
        if sub in parts[part] and explicit.get(part) and sub in (explicit.get(part) or {}):
            raise ConfigError(f"{key!r} is given twice: flat and as {part}_kwargs[{sub!r}]; keep one", key=key)
        parts[part][sub] = value
    return parts, rest


def forward_kwargs(module: Any) -> set[str] | None:
    """Names ``module.forward`` accepts besides the input (None: any, it takes ``**kwargs``)."""
    try:
        params = list(inspect.signature(module.forward).parameters.values())
    except (TypeError, ValueError):  # pragma: no cover - builtins
        return set()
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return None
    return {p.name for p in params[1:] if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def filter_kwargs(kwargs: Mapping[str, Any], accepted: set[str] | None) -> dict[str, Any]:
    """Keep the batch extras (``temporal_coords``, ...) a forward accepts; drop the rest."""
    return dict(kwargs) if accepted is None else {k: v for k, v in kwargs.items() if k in accepted}


def check_arguments(
    fn: Callable[..., Any], kwargs: Mapping[str, Any], *, prefix: str, where: str, skip: int = 0,
    extra: Iterable[str] = (),
) -> None:
    """Raise :class:`UnusedArgumentError` for kwargs ``fn`` cannot take (skipped when it takes ``**kwargs``).

    Args:
        fn: The builder (class or function).
        kwargs: The arguments that will be passed.
        prefix: How the user spells them (``backbone_``), for the message.
        where: What is being built, for the message.
        skip: Leading positional parameters filled by the factory (``channel_list``).
        extra: Names the factory itself consumes.
    """
    names, var_kw = accepted_arguments(fn, skip)
    if var_kw:
        return
    known = set(names) | set(extra)
    unused = [k for k in kwargs if k not in known]
    if unused:
        pool = [prefix + n for n in [*names, *extra]]
        hints = {prefix + u: s for u in unused if (s := suggest(prefix + u, pool))}
        raise UnusedArgumentError([prefix + u for u in unused], where, hints)
