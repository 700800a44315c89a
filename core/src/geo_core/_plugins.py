"""Plugin discovery: entry points, manifests and pluggy hook modules.

Listing reads entry-point metadata and ``geo-plugin.toml`` manifests only; the
hook modules of the ``geo.plugins`` group are imported (they must be torch-free).
Component modules are imported on build, or eagerly under ``GEO_STRICT=1``.
"""

from __future__ import annotations

import importlib
import importlib.metadata as md
import importlib.util
import logging
import os
import re
import time
import tomllib
import traceback
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import pluggy
from pluggy import HookImpl

from geo_core import hookspecs
from geo_core._errors import PluginLoadError
from geo_core._sources import ComponentSource

__all__ = [
    "KINDS",
    "GROUPS",
    "PluginRecord",
    "PluginStatus",
    "PluginIndex",
    "plugin_index",
    "reset_plugins",
    "plugin_name_for_distribution",
    "default_priority",
    "call_impl",
]

log = logging.getLogger("geo_core.plugins")

#: Registry kinds and their entry-point groups.
GROUPS: dict[str, str] = {
    "backbone": "geo.backbones",
    "decoder": "geo.decoders",
    "neck": "geo.necks",
    "model": "geo.models",
    "model_factory": "geo.model_factories",
    "task": "geo.tasks",
    "datamodule": "geo.datamodules",
    "loss": "geo.losses",
}
KINDS = tuple(GROUPS)
MANIFEST_GROUP = "geo.manifests"
HOOK_GROUP = "geo.plugins"
MANIFEST_FILE = "geo-plugin.toml"

#: Priority tier of a plugin whose manifest declares none (``[plugin] priority = N``; lower wins).
DEFAULT_TIER = 100


def plugin_name_for_distribution(dist_name: str) -> str:
    """Derive the source name of a distribution (``geo-plugin-smp`` -> ``smp``)."""
    n = re.sub(r"[-_.]+", "-", dist_name).lower()
    if n == "geo-core":
        return "core"
    for prefix in ("geo-plugin-",):
        if n.startswith(prefix):
            return n[len(prefix) :]
    return n


def _env_list(var: str) -> list[str] | None:
    raw = os.environ.get(var)
    if raw is None or not raw.strip():
        return None
    return [p.strip() for p in raw.split(",") if p.strip()]


def default_priority() -> list[str]:
    """Return the source order used for unqualified names.

    In-process registrations (``local``) come first, then every plugin by the priority tier its
    manifest declares (``[plugin] priority = N``, lower first, :data:`DEFAULT_TIER` when absent),
    ties alphabetical. ``GEO_PRIORITY`` (comma list) moves the named sources to the front.
    """
    order = ["local", *plugin_index().tier_order()]
    front = _env_list("GEO_PRIORITY") or []
    return [*front, *[s for s in order if s not in front]]


class PluginStatus(StrEnum):
    """What discovery concluded about a plugin (compares equal to its value: ``"ok"``)."""

    OK = "ok"
    BROKEN = "broken"  # failed to import, bad manifest, unmet requirement or a failing hook
    DISABLED = "disabled"  # GEO_DISABLE_PLUGINS / GEO_PLUGINS
    INCOMPATIBLE = "incompatible"  # written for another hook-spec version


@dataclass
class PluginRecord:
    """What discovery knows about one plugin (one source name)."""

    name: str
    distribution: str | None = None
    version: str | None = None
    status: PluginStatus = PluginStatus.OK
    reason: str = ""
    error: BaseException | None = None
    hook_module: str | None = None
    manifest: dict[str, Any] = field(default_factory=dict)
    manifest_path: str | None = None
    summary: str = ""
    load_seconds: float = 0.0
    sources: list[ComponentSource] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def tier(self) -> int:
        """The priority tier the manifest declares (``[plugin] priority``), :data:`DEFAULT_TIER` if none."""
        value = self.manifest.get("plugin", {}).get("priority", DEFAULT_TIER)
        return value if isinstance(value, int) else DEFAULT_TIER

    def raise_error(self, what: str) -> None:
        """Re-raise this plugin's load error, chained, for a requested component."""
        detail = f"{self.reason} (needed for {what})"
        if self.status == "disabled":
            raise PluginLoadError(self.name, f"it is disabled by GEO_DISABLE_PLUGINS/GEO_PLUGINS ({what})")
        raise PluginLoadError(self.name, detail) from self.error


@dataclass
class EntryRecord:
    """One statically declared component (an entry point)."""

    kind: str
    name: str
    source: str
    target: str
    distribution: str | None
    version: str | None


def _find_manifest(package: str) -> Path | None:
    """Locate ``geo-plugin.toml`` inside ``package`` without importing it."""
    top = package.split(".")[0]
    spec = importlib.util.find_spec(top)
    if spec is None or not spec.submodule_search_locations:
        return None
    base = Path(next(iter(spec.submodule_search_locations)))
    for part in package.split(".")[1:]:
        base = base / part
    path = base / MANIFEST_FILE
    return path if path.is_file() else None


def _requirement_problem(req: str) -> str | None:
    """Return why ``req`` (``name``, ``name==v`` or ``name>=a,<b``) is unmet, or None."""
    m = re.match(r"^\s*([A-Za-z0-9_.\-\[\]]+)\s*(.*)$", req)
    if not m:
        return None
    name = re.sub(r"\[.*\]", "", m.group(1))
    spec = m.group(2).strip()
    try:
        installed = md.version(name)
    except md.PackageNotFoundError:
        return f"{name} is not installed"
    if not spec:
        return None
    try:
        from packaging.specifiers import SpecifierSet  # packaging ships with pip/setuptools envs
    except ImportError:  # pragma: no cover - packaging is a lightning dependency
        return None
    if installed not in SpecifierSet(spec):
        return f"{name} {installed} is installed but {spec} is required"
    return None


_SERIAL = 0


class PluginIndex:
    """The discovered plugins and statically declared components (built once per process)."""

    def __init__(self) -> None:
        global _SERIAL
        _SERIAL += 1
        #: distinguishes successive discoveries (registries key their caches on it)
        self.serial = _SERIAL
        # (name, version) per distribution object: parsing metadata costs ~0.3 ms and there is one
        # lookup per entry point; the objects stay alive (held by the entry points) during discovery.
        self._dists: dict[int, tuple[str, str]] = {}
        self.plugins: dict[str, PluginRecord] = {}
        self.entries: dict[str, list[EntryRecord]] = {k: [] for k in KINDS}
        self._tier_order: list[str] | None = None
        self.pm = pluggy.PluginManager("geo")
        self.pm.add_hookspecs(hookspecs.GeoHookSpec)
        self._discover()

    def _dist_name(self, dist: md.Distribution | None) -> str | None:
        return self._dist_info(dist)[0]

    def _dist_info(self, dist: md.Distribution | None) -> tuple[str | None, str | None]:
        if dist is None:
            return None, None
        key = id(dist)
        if key not in self._dists:
            meta = dist.metadata
            self._dists[key] = (meta["Name"], meta["Version"])
        name, version = self._dists[key]
        return name, version

    # -- filtering ---------------------------------------------------------
    @staticmethod
    def _allowed(name: str, dist: str | None) -> bool:
        if name == "core":
            return True
        keys = {name, (dist or "").lower()}
        disabled = _env_list("GEO_DISABLE_PLUGINS") or []
        if keys & set(disabled):
            return False
        allow = _env_list("GEO_PLUGINS")
        return allow is None or bool(keys & set(allow))

    def _record(self, name: str, dist: md.Distribution | None) -> PluginRecord:
        rec = self.plugins.get(name)
        dist_name = self._dist_name(dist)
        if rec is None:
            rec = PluginRecord(name=name, distribution=dist_name, version=self._dist_info(dist)[1])
            if not self._allowed(name, dist_name):
                rec.status, rec.reason = PluginStatus.DISABLED, "disabled by GEO_DISABLE_PLUGINS/GEO_PLUGINS"
            self.plugins[name] = rec
        return rec

    # -- discovery ---------------------------------------------------------
    def _discover(self) -> None:
        eps = md.entry_points()
        dist_source: dict[str, str] = {}
        # 0. a hook entry point's name is its plugin's source name too.
        for ep in eps.select(group=HOOK_GROUP):
            if ep.dist is not None:
                dist_source.setdefault(str(self._dist_name(ep.dist)), ep.name)
        # 1. manifests decide the source name of their distribution.
        for ep in eps.select(group=MANIFEST_GROUP):
            dist = ep.dist
            rec = self._record(ep.name, dist)
            if dist is not None:
                dist_source[str(self._dist_name(dist))] = ep.name
            try:
                path = _find_manifest(ep.value)
                if path is None:
                    raise FileNotFoundError(f"{MANIFEST_FILE} not found in package {ep.value!r}")
                rec.manifest = tomllib.loads(path.read_text(encoding="utf-8"))
                rec.manifest_path = str(path)
                rec.summary = str(rec.manifest.get("plugin", {}).get("summary", ""))
                for req in rec.manifest.get("plugin", {}).get("requires", []):
                    problem = _requirement_problem(req)
                    if problem and rec.status == "ok":
                        install = rec.manifest["plugin"].get("install", f"pip install '{req}'")
                        rec.status = PluginStatus.BROKEN
                        rec.reason = f"{problem}; install with: {install}"
                        rec.error = ImportError(rec.reason)
            except Exception as exc:  # a bad manifest breaks only its plugin
                if rec.status == "ok":
                    rec.status, rec.reason, rec.error = PluginStatus.BROKEN, f"bad manifest: {exc}", exc
        # 2. static component entry points.
        for kind, group in GROUPS.items():
            for ep in eps.select(group=group):
                dist = ep.dist
                dname = self._dist_name(dist)
                source = dist_source.get(dname or "", plugin_name_for_distribution(dname or "local"))
                rec = self._record(source, dist)
                self.entries[kind].append(EntryRecord(kind, ep.name, source, ep.value, dname, self._dist_info(dist)[1]))
        # 3. pluggy hook modules (torch-free by contract).
        for ep in eps.select(group=HOOK_GROUP):
            dist = ep.dist
            rec = self._record(ep.name, dist)
            rec.hook_module = ep.value
            if rec.status != "ok":
                continue
            t0 = time.perf_counter()
            try:
                module = importlib.import_module(ep.value)
                version = getattr(module, "GEO_HOOKSPEC_VERSION", hookspecs.HOOKSPEC_VERSION)
                if int(version) != hookspecs.HOOKSPEC_VERSION:
                    rec.status = PluginStatus.INCOMPATIBLE
                    rec.reason = (
                        f"written for hook spec version {version}, this geo-core provides "
                        f"{hookspecs.HOOKSPEC_VERSION}; upgrade the plugin or geo-core"
                    )
                    rec.error = ImportError(rec.reason)
                    continue
                self.pm.register(module, name=ep.name)  # validates the @hookimpl functions against the spec
            except Exception as exc:
                self._mark_broken(rec, exc)
            finally:
                rec.load_seconds += time.perf_counter() - t0
        # 4. dynamic catalogues, each plugin's implementation called on its own (a failure breaks that plugin).
        for name, impl in self.hookimpls("geo_component_sources").items():
            rec = self.plugins[name]
            t0 = time.perf_counter()
            try:
                for src in call_impl(impl) or []:
                    if not isinstance(src, ComponentSource):
                        raise TypeError(f"geo_component_sources returned {type(src).__name__}, not ComponentSource")
                    rec.sources.append(src)
            except Exception as exc:
                rec.sources.clear()
                self._mark_broken(rec, exc)
            finally:
                rec.load_seconds += time.perf_counter() - t0
        if os.environ.get("GEO_STRICT") == "1":
            self.check_strict()

    def _mark_broken(self, rec: PluginRecord, exc: BaseException) -> None:
        rec.status = PluginStatus.BROKEN
        rec.reason = f"{type(exc).__name__}: {exc}"
        rec.error = exc
        if self.pm.get_plugin(rec.name) is not None:
            self.pm.unregister(name=rec.name)
        log.info("geo plugin %r is broken: %s", rec.name, rec.reason)

    def hookimpls(self, hook: str) -> dict[str, HookImpl]:
        """Each healthy plugin's implementation of ``hook``, by plugin name, in registration order.

        Calling them one by one (``impl.function(...)``) keeps a failing plugin from taking the
        others down; ``self.pm.hook.<hook>(...)`` calls them all at once.
        """
        caller = getattr(self.pm.hook, hook)
        impls = {i.plugin_name: i for i in caller.get_hookimpls()}
        return {n: impls[n] for n, rec in self.plugins.items() if n in impls and rec.status == "ok"}

    def tier_order(self) -> list[str]:
        """Plugin names by priority tier (lower first), ties alphabetical."""
        if self._tier_order is None:
            self._tier_order = [r.name for r in sorted(self.plugins.values(), key=lambda r: (r.tier, r.name))]
        return self._tier_order

    def check_strict(self) -> None:
        """Import every plugin's component modules; raise on the first broken one."""
        for rec in self.plugins.values():
            if rec.status in ("broken", "incompatible"):
                rec.raise_error("GEO_STRICT=1")
        for kind in KINDS:
            for e in self.entries[kind]:
                if self.plugins[e.source].status != "ok":
                    continue
                module = e.target.split(":")[0]
                try:
                    importlib.import_module(module)
                except Exception as exc:
                    raise PluginLoadError(e.source, f"module {module!r} of {kind} {e.source}:{e.name}: {exc}") from exc

    def import_all(self) -> dict[str, tuple[float, str | None]]:
        """Import every component module of every plugin (``geo plugins doctor``).

        Returns:
            plugin name -> (seconds, error text with traceback tail or None).
        """
        out: dict[str, tuple[float, str | None]] = {}
        for name, rec in self.plugins.items():
            if rec.status == "disabled":
                continue
            if rec.status != "ok":
                tb = "".join(traceback.format_exception(rec.error)[-4:]) if rec.error else rec.reason
                out[name] = (rec.load_seconds, f"{rec.reason}\n{tb}".strip())
                continue
            modules = sorted({e.target.split(":")[0] for k in KINDS for e in self.entries[k] if e.source == name})
            modules += sorted({s.builder.split(":")[0] for s in rec.sources})
            t0 = time.perf_counter()
            err = None
            for module in modules:
                try:
                    importlib.import_module(module)
                except BaseException as exc:
                    err = "".join(traceback.format_exception(exc)[-6:])
                    break
            out[name] = (rec.load_seconds + time.perf_counter() - t0, err)
        return out


def call_impl(impl: HookImpl, **kwargs: Any) -> Any:
    """Call one plugin's hook implementation with the hook arguments it asks for (as pluggy does)."""
    return impl.function(*(kwargs[name] for name in impl.argnames))


_INDEX: PluginIndex | None = None


def plugin_index() -> PluginIndex:
    """Return the process-wide plugin index, discovering plugins on first use."""
    global _INDEX
    if _INDEX is None:
        _INDEX = PluginIndex()
    return _INDEX


def reset_plugins() -> None:
    """Forget discovered plugins (tests, or after installing a plugin at run time)."""
    global _INDEX
    _INDEX = None
    importlib.invalidate_caches()
