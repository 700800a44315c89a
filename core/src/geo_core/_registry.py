"""One registry per component kind, fed by entry points, hooks and in-process registration."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar, overload

from geo_core._errors import DuplicateComponentError, PluginLoadError, UnknownComponentError
from geo_core._plugins import GROUPS, _env_list, default_priority, plugin_index
from geo_core._sources import ComponentInfo, ComponentSource
from geo_core._suggest import close_matches

__all__ = ["Registry", "SEPARATOR", "reset_resolution_cache", "load_target"]

log = logging.getLogger("geo_core.registry")

SEPARATOR = ":"
F = TypeVar("F", bound=Callable[..., Any])
#: (plugin index serial, kind, name) of ambiguous names already logged: a new discovery logs afresh
_LOGGED: set[tuple[int, str, str]] = set()


def reset_resolution_cache() -> None:
    """Forget which ambiguous names were already logged."""
    _LOGGED.clear()


def load_target(target: str) -> Any:
    """Import ``"module:attr"`` (attr may be dotted) and return the object."""
    module_name, _, attr = target.partition(":")
    obj: Any = importlib.import_module(module_name)
    for part in attr.split(".") if attr else []:
        obj = getattr(obj, part)
    return obj


@dataclass
class _Candidate:
    id: str
    name: str
    source: str
    target: str | Callable[..., Any]
    distribution: str | None = None
    version: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    dynamic: ComponentSource | None = None


class Registry:
    """A registry of one component kind.

    Names are qualified ids ``source:name``; a plain name resolves by source
    priority (in-process ``local``, then ``core``, then plugins, see
    :func:`geo_core.set_priority`).

    Example:
        >>> import geo_core
        >>> "core:UNetDecoder" in geo_core.DECODERS
        True
    """

    def __init__(self, kind: str) -> None:
        if kind not in GROUPS:
            raise ValueError(f"unknown registry kind {kind!r}; expected one of {sorted(GROUPS)}")
        self.kind = kind
        self.group = GROUPS[kind]
        self._local: dict[str, _Candidate] = {}
        self._priority: list[str] | None = None
        self._version = 0  # bumped by every in-process (un)registration
        self._cache: tuple[tuple[int, int], dict[str, _Candidate]] | None = None

    def __repr__(self) -> str:
        return f"Registry({self.kind!r})"

    # -- registration ------------------------------------------------------
    @overload
    def register(self, obj: F) -> F: ...
    @overload
    def register(
        self,
        obj: None = None,
        *,
        name: str | None = None,
        source: str = "local",
        metadata: Mapping[str, Any] | None = None,
        override: bool = False,
    ) -> Callable[[F], F]: ...

    def register(
        self,
        obj: Any = None,
        *,
        name: str | None = None,
        source: str = "local",
        metadata: Mapping[str, Any] | None = None,
        override: bool = False,
    ) -> Any:
        """Register a builder (class or function) in-process.

        Usable bare (``@BACKBONES.register``) or with options
        (``@BACKBONES.register(name="tiny", metadata={"out_channels": [8]})``).

        Raises:
            DuplicateComponentError: ``source:name`` is already registered in-process
                and ``override`` is false.
        """

        def deco(fn: F) -> F:
            n = name or getattr(fn, "__name__", None)
            if not n:
                raise ValueError("cannot infer a name; pass register(name=...)")
            if SEPARATOR in n:
                raise ValueError(f"component names may not contain {SEPARATOR!r}: {n!r}")
            qid = f"{source}{SEPARATOR}{n}"
            if qid in self._local and not override:
                old = self._local[qid].target
                raise DuplicateComponentError(self.kind, qid, _describe(old), _describe(fn))
            self._local[qid] = _Candidate(qid, n, source, fn, metadata=dict(metadata or {}))
            self._version += 1
            return fn

        if obj is not None:
            return deco(obj)
        return deco

    def unregister(self, name: str) -> None:
        """Remove an in-process registration (by qualified id or plain local name)."""
        qid = name if SEPARATOR in name else f"local{SEPARATOR}{name}"
        self._local.pop(qid, None)
        self._version += 1

    def set_priority(self, order: list[str] | None) -> None:
        """Override the source order for this registry (None: the global default)."""
        self._priority = order

    # -- listing -----------------------------------------------------------
    def _static(self) -> list[_Candidate]:
        idx = plugin_index()
        out = []
        for e in idx.entries[self.kind]:
            rec = idx.plugins.get(e.source)
            if rec is None or rec.status != "ok":
                continue
            meta = dict(rec.manifest.get(self.kind, {}).get(e.name, {})) if rec.manifest else {}
            out.append(
                _Candidate(
                    f"{e.source}{SEPARATOR}{e.name}", e.name, e.source, e.target, e.distribution, e.version, meta
                )
            )
        return out

    def _dynamic_sources(self) -> Iterator[tuple[ComponentSource, Any]]:
        idx = plugin_index()
        for rec in idx.plugins.values():
            if rec.status != "ok":
                continue
            for src in rec.sources:
                if src.kind == self.kind:
                    yield src, rec

    def _candidates(self) -> dict[str, _Candidate]:
        key = (plugin_index().serial, self._version)
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        out: dict[str, _Candidate] = {}
        for c in self._static():
            prev = out.get(c.id)
            if prev is not None and prev.distribution != c.distribution:
                raise DuplicateComponentError(self.kind, c.id, str(prev.distribution), str(c.distribution))
            out[c.id] = c
        for src, rec in self._dynamic_sources():
            for n in src.list_names():
                qid = f"{src.source}{SEPARATOR}{n}"
                if qid in out and out[qid].distribution != rec.distribution:
                    raise DuplicateComponentError(self.kind, qid, str(out[qid].distribution), str(rec.distribution))
                out[qid] = _dynamic_candidate(src, rec, n)
        out.update(self._local)
        self._cache = (key, out)
        return out

    def names(self, source: str | None = None) -> list[str]:
        """Return the sorted qualified ids of every listable component (imports no plugin)."""
        ids = self._candidates()
        return sorted(i for i, c in ids.items() if source is None or c.source == source)

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._candidates())

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        try:
            self._resolve(name)
        except (UnknownComponentError, PluginLoadError):
            return False
        return True

    # -- resolution --------------------------------------------------------
    def _order(self) -> list[str]:
        return self._priority or default_priority()

    def _rank(self, source: str) -> tuple[int, str]:
        order = self._order()
        return (order.index(source), "") if source in order else (len(order), source)

    def _alphabetical_tie(self, a: str, b: str) -> bool:
        """Whether plugin sources ``a`` and ``b`` are ordered only by name (same tier, neither put first by hand)."""
        chosen_by_hand = set(self._priority or []) | set(_env_priority())
        recs = plugin_index().plugins
        if a in chosen_by_hand or b in chosen_by_hand or a not in recs or b not in recs:
            return False
        return recs[a].tier == recs[b].tier

    def _resolve(self, name: str) -> tuple[_Candidate, list[str]]:
        cands = self._candidates()
        if SEPARATOR in name:
            if name in cands:
                return cands[name], []
            source, _, plain = name.partition(SEPARATOR)
            for src, rec in self._dynamic_sources():
                if src.source == source and src.accepts is not None and src.accepts(plain):
                    return _dynamic_candidate(src, rec, plain), []
            self._raise_unknown(name, cands, source=source)
        matches = sorted((c for c in cands.values() if c.name == name), key=lambda c: self._rank(c.source))
        if not matches:
            for src, rec in sorted(self._dynamic_sources(), key=lambda sr: self._rank(sr[0].source)):
                if src.accepts is not None and src.accepts(name):
                    return _dynamic_candidate(src, rec, name), []
            self._raise_unknown(name, cands)
        chosen, others = matches[0], [m.id for m in matches[1:]]
        logged = (plugin_index().serial, self.kind, name)
        if others and logged not in _LOGGED:
            _LOGGED.add(logged)
            rivals = [m.id for m in matches[1:] if self._alphabetical_tie(chosen.source, m.source)]
            if rivals:  # two sources of one priority tier: only the alphabet decides, so say so
                log.warning(
                    "%s %r is served by both %s and %s, of the same priority tier; using %s (alphabetical "
                    "order). Write the qualified id, or set GEO_PRIORITY=%s to choose.",
                    self.kind,
                    name,
                    chosen.id,
                    " and ".join(rivals),
                    chosen.id,
                    rivals[0].partition(SEPARATOR)[0],
                )
            else:
                log.info("%s %r resolved to %s (also served by %s)", self.kind, name, chosen.id, ", ".join(others))
        return chosen, others

    def _raise_unknown(self, name: str, cands: Mapping[str, _Candidate], source: str | None = None) -> None:
        idx = plugin_index()
        if source is not None:
            rec = idx.plugins.get(source)
            if rec is not None and rec.status != "ok":
                rec.raise_error(f"{self.kind} {name!r}")
        else:
            for e in idx.entries[self.kind]:
                rec = idx.plugins.get(e.source)
                if e.name == name and rec is not None and rec.status != "ok":
                    rec.raise_error(f"{self.kind} {name!r}")
        pool = list(cands) + sorted({c.name for c in cands.values()})
        guess = name
        # TerraTorch spells qualified names with an underscore (timm_resnet50).
        for src in {c.source for c in cands.values()}:
            if name.startswith(src + "_"):
                alt = f"{src}{SEPARATOR}{name[len(src) + 1 :]}"
                if alt in cands:
                    raise UnknownComponentError(self.kind, name, [alt], hint="(geo qualifies names with ':')")
        close = close_matches(guess, pool, n=3)
        from geo_core._first_party import install_hint

        broken = [r for r in idx.plugins.values() if r.status in ("broken", "incompatible")]
        hint = install_hint(self.kind, name)  # a first-party plugin that is not installed: the pip line
        if broken and not hint:
            hint = "Broken plugins that might provide it: " + "; ".join(f"{r.name} ({r.reason})" for r in broken)
        raise UnknownComponentError(self.kind, name, close[:3], hint=hint)

    def resolve(self, name: str) -> str:
        """Return the qualified id a (plain or qualified) name resolves to."""
        return self._resolve(name)[0].id

    def info(self, name: str) -> ComponentInfo:
        """Return metadata for ``name`` without importing the component's module."""
        c, others = self._resolve(name)
        meta = dict(c.metadata)
        if c.dynamic is not None:
            meta.update(c.dynamic.metadata_for(c.name))
        target = c.target if isinstance(c.target, str) else f"{c.target.__module__}:{c.target.__qualname__}"
        return ComponentInfo(c.id, c.name, c.source, self.kind, target, c.distribution, c.version, meta, tuple(others))

    def get(self, name: str) -> Callable[..., Any]:
        """Import and return the builder of ``name`` (class or function).

        For dynamic catalogues the returned callable has the name bound.

        Raises:
            UnknownComponentError: No source serves the name.
            PluginLoadError: The component's module failed to import (original error chained).
        """
        c, _ = self._resolve(name)
        if callable(c.target):
            return c.target
        try:
            obj = load_target(c.target)
        except Exception as exc:
            raise PluginLoadError(
                c.source,
                f"cannot import {self.kind} {c.id!r} from {c.target!r} ({c.distribution}): {type(exc).__name__}: {exc}",
            ) from exc
        if c.dynamic is not None:
            plain = c.name

            def bound(*args: Any, **kwargs: Any) -> Any:
                return obj(plain, *args, **kwargs)

            bound.__name__ = plain
            bound.__qualname__ = c.id
            return bound
        return obj  # type: ignore[no-any-return]

    def build(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """Build the component ``name`` with the given arguments.

        Exceptions raised by the builder propagate unchanged.
        """
        return self.get(name)(*args, **kwargs)


def _env_priority() -> list[str]:
    return _env_list("GEO_PRIORITY") or []


def _dynamic_candidate(src: ComponentSource, rec: Any, name: str) -> _Candidate:
    """The candidate for ``name`` served by the hook catalogue ``src`` of plugin record ``rec``."""
    qid = f"{src.source}{SEPARATOR}{name}"
    return _Candidate(qid, name, src.source, src.builder, rec.distribution, rec.version, dynamic=src)


def _describe(obj: Any) -> str:
    if isinstance(obj, str):
        return obj
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', repr(obj))}"
