"""Routing flat ``backbone_*`` / ``decoder_*`` / ``head_*`` arguments and reporting unused ones."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from geo_core._errors import ConfigError, UnusedArgumentError
from geo_core._signature import accepted_arguments, parameters
from geo_core._suggest import suggest

__all__ = [
    "PREFIXES",
    "route_prefixed",
    "check_arguments",
    "check_call",
    "suggest",
    "accepted_arguments",
    "unexpected_argument_error",
    "forward_kwargs",
    "filter_kwargs",
]

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
        sub = key[len(part) + 1 :]
        if sub in parts[part] and explicit.get(part) and sub in (explicit.get(part) or {}):
            raise ConfigError(f"{key!r} is given twice: flat and as {part}_kwargs[{sub!r}]; keep one", key=key)
        parts[part][sub] = value
    return parts, rest


_SIMPLE_TYPES: dict[str, tuple[type, ...]] = {
    "int": (int,),
    "float": (int, float),
    "bool": (bool,),
    "str": (str,),
    "None": (type(None),),
}


def _simple_annotation(ann: Any) -> tuple[type, ...] | None:
    """The accepted types of an annotation made only of int/float/bool/str/None, else None (not checked)."""
    text = ann if isinstance(ann, str) else getattr(ann, "__name__", repr(ann)) if isinstance(ann, type) else repr(ann)
    parts = [p.strip() for p in text.replace("Optional[", "None | ").rstrip("]").split("|")]
    if not parts or any(p not in _SIMPLE_TYPES for p in parts):
        return None
    return tuple(t for p in parts for t in _SIMPLE_TYPES[p])


def check_call(fn: Callable[..., Any], kwargs: Mapping[str, Any], *, where: str, skip: int = 0) -> None:
    """Raise :class:`ConfigError` before calling ``fn(**kwargs)`` when it would fail on the arguments' shape.

    Catches a required parameter that is missing (suggesting the given key it was probably misspelt as)
    and a value that does not match a plain ``int``/``float``/``bool``/``str`` annotation.

    Args:
        fn: The function or class about to be called.
        kwargs: The keyword arguments it will get.
        where: How the user names the arguments' place, for the message (``model_args``).
        skip: Leading positional parameters the caller fills itself (``task``).
    """
    params = parameters(fn, skip)
    if params is None:  # pragma: no cover - builtins without a signature
        return
    named = [p for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    known = {p.name for p in named}
    for p in named:
        if p.default is p.empty and p.name not in kwargs:
            stray = [k for k in kwargs if k not in known]
            guess = suggest(p.name, stray)
            hint = f"; {guess!r} looks like a misspelling of it" if guess else ""
            raise ConfigError(f"{where}: the required argument {p.name!r} is missing{hint}", key=p.name)
    for p in named:
        if p.name not in kwargs or p.annotation is p.empty:
            continue
        types, value = _simple_annotation(p.annotation), kwargs[p.name]
        if types is None or (isinstance(value, types) and not (isinstance(value, bool) and bool not in types)):
            continue
        ann = p.annotation if isinstance(p.annotation, str) else " | ".join(t.__name__ for t in types)
        raise ConfigError(f"{where}.{p.name} must be {ann}, got {value!r}", key=p.name)


_UNEXPECTED = re.compile(r"(?P<fn>[\w.<>]+)\(\) got an unexpected keyword argument '(?P<arg>\w+)'")


def _callee_arguments(exc: BaseException, qualname: str) -> list[str]:
    """Keyword names of the callable named ``qualname`` in a TypeError, found among its traceback's locals."""
    owner = qualname.removesuffix(".__init__")
    tb = exc.__traceback__
    frames = []
    while tb is not None:
        frames.append(tb.tb_frame)
        tb = tb.tb_next
    for frame in reversed(frames):
        for value in list(frame.f_locals.values()):
            if isinstance(value, type) and value.__qualname__ == owner:
                names: list[str] = []
                for cls in value.__mro__:
                    init = vars(cls).get("__init__")
                    if init is None or init is object.__init__:
                        continue
                    got, var_kw = accepted_arguments(init, skip=1)
                    names += [n for n in got if n not in names]
                    if not var_kw:
                        break
                return names
            if callable(value) and getattr(value, "__qualname__", None) == qualname:
                return accepted_arguments(value)[0]
    return []


def unexpected_argument_error(exc: TypeError, where: str, known: Iterable[str] = ()) -> UnusedArgumentError | None:
    """Turn a wrapped library's ``got an unexpected keyword argument 'x'`` into :class:`UnusedArgumentError`.

    The did-you-mean pool is the rejecting callable's own parameters (found in the traceback) plus ``known``.
    Returns None when ``exc`` is another TypeError (re-raise it unchanged).
    """
    m = _UNEXPECTED.search(str(exc))
    if m is None:
        return None
    arg = m["arg"]
    pool = [*_callee_arguments(exc, m["fn"]), *known]
    hint = suggest(arg, [n for n in pool if n != arg])
    return UnusedArgumentError([arg], where, {arg: hint} if hint else None)


def forward_kwargs(module: Any) -> set[str] | None:
    """Names ``module.forward`` accepts besides the input (None: any, it takes ``**kwargs``)."""
    if parameters(module.forward) is None:  # pragma: no cover - builtins
        return set()
    names, var_kw = accepted_arguments(module.forward, 1)
    return None if var_kw else set(names)


def filter_kwargs(kwargs: Mapping[str, Any], accepted: set[str] | None) -> dict[str, Any]:
    """Keep the batch extras (``temporal_coords``, ...) a forward accepts; drop the rest."""
    return dict(kwargs) if accepted is None else {k: v for k, v in kwargs.items() if k in accepted}


def check_arguments(
    fn: Callable[..., Any],
    kwargs: Mapping[str, Any],
    *,
    prefix: str,
    where: str,
    skip: int = 0,
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
