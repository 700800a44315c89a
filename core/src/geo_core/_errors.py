"""Exception hierarchy of geo.

Every error subclasses the built-in it refines, carries the offending object and
says what was expected and how to fix it.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "refuses_pickled_objects",
    "torch_load_reason",
    "GeoError",
    "UnknownComponentError",
    "AmbiguousComponentError",
    "DuplicateComponentError",
    "PluginLoadError",
    "MissingDependencyError",
    "ConfigError",
    "UnusedArgumentError",
    "InputDataError",
    "CheckpointError",
    "WeightsError",
    "WeightsOfflineError",
]


class GeoError(Exception):
    """Base class of every error raised by geo itself."""


class UnknownComponentError(GeoError, KeyError):
    """A component name that no registry source serves.

    Attributes:
        kind: The registry kind (``backbone``, ``decoder``, ...).
        name: The name that was asked for.
        suggestions: The closest known names, best first.
    """

    def __init__(self, kind: str, name: str, suggestions: Sequence[str] = (), hint: str = "") -> None:
        self.kind = kind
        self.name = name
        self.suggestions = list(suggestions)
        msg = f"unknown {kind} {name!r}"
        if self.suggestions:
            msg += "; did you mean " + ", ".join(repr(s) for s in self.suggestions) + "?"
        if hint:
            msg += f" {hint}"
        else:
            msg += f" Run `geo list {kind}s` to see every available name."
        self.message = msg
        super().__init__(msg)

    def __str__(self) -> str:  # KeyError would repr() the message
        return self.message


class AmbiguousComponentError(GeoError, KeyError):
    """An unqualified name that several sources serve, when the caller asked for strictness."""

    def __init__(self, kind: str, name: str, candidates: Sequence[str]) -> None:
        self.kind = kind
        self.name = name
        self.candidates = list(candidates)
        self.message = (
            f"{kind} name {name!r} is served by several sources: {', '.join(self.candidates)}; "
            "use a qualified id such as " + repr(self.candidates[0])
        )
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


class DuplicateComponentError(GeoError, ValueError):
    """Two distributions (or two registrations) claim the same qualified id."""

    def __init__(self, kind: str, qualified_id: str, first: str, second: str) -> None:
        self.kind = kind
        self.qualified_id = qualified_id
        self.first = first
        self.second = second
        super().__init__(
            f"{kind} {qualified_id!r} is registered twice: by {first} and by {second}. "
            "Uninstall one of them, or disable one with GEO_DISABLE_PLUGINS."
        )


class PluginLoadError(GeoError, ImportError):
    """A plugin (or one of its component modules) failed to import.

    The original exception is always chained as ``__cause__``.
    """

    def __init__(self, plugin: str, detail: str) -> None:
        self.plugin = plugin
        super().__init__(f"plugin {plugin!r} failed to load: {detail}")


class MissingDependencyError(GeoError, ImportError):
    """An optional dependency is not installed; the message names the pip command."""

    def __init__(self, package: str, install: str, purpose: str = "") -> None:
        self.package = package
        self.install = install
        what = f" (needed for {purpose})" if purpose else ""
        super().__init__(f"{package} is not installed{what}. Install it with: {install}")


class ConfigError(GeoError, ValueError):
    """A configuration that cannot be used; names the key and the fix."""

    def __init__(self, message: str, key: str | None = None) -> None:
        self.key = key
        super().__init__(message)


class UnusedArgumentError(ConfigError):
    """An argument that no component consumed."""

    def __init__(self, names: Sequence[str], where: str, suggestions: dict[str, str] | None = None) -> None:
        self.names = list(names)
        self.where = where
        self.suggestions = dict(suggestions or {})
        parts = []
        for n in self.names:
            s = (suggestions or {}).get(n)
            parts.append(f"{n!r}" + (f" (did you mean {s!r}?)" if s else ""))
        super().__init__(
            f"unused argument(s) for {where}: {', '.join(parts)}", key=self.names[0] if self.names else None
        )

    def prefixed(self, prefix: str, where: str | None = None) -> UnusedArgumentError:
        """The same error with names as a config spells them (``in_chanels`` -> ``backbone_in_chanels``)."""
        return UnusedArgumentError(
            [prefix + n for n in self.names],
            where or self.where,
            {prefix + n: prefix + s for n, s in self.suggestions.items()},
        )


class InputDataError(GeoError, ValueError):
    """An input file or array that cannot be used; names the file."""

    def __init__(self, message: str, path: object | None = None) -> None:
        self.path = path
        super().__init__(f"{path}: {message}" if path is not None else message)


class CheckpointError(GeoError, ValueError):
    """A checkpoint that is missing, truncated, or needs an explicit opt-in to load."""

    def __init__(self, message: str, path: object | None = None) -> None:
        self.path = path
        super().__init__(f"{path}: {message}" if path is not None else message)


class WeightsError(CheckpointError):
    """Released weights that could not be fetched or failed verification.

    Raised for a server answering 404/500, a timeout, a hash mismatch, a truncated
    download or an HTML page where a checkpoint was expected. Nothing is ever left
    under the final cache name; a partial download is kept beside it for resuming.

    Attributes:
        name: The component the weights are for (``""`` when unknown).
        source: Where the weights come from (``org/repo/file``, a URL or a path).
        status: The HTTP status the server answered, when it answered one (404 for a missing file).
    """

    def __init__(self, message: str, name: str = "", source: str = "", status: int | None = None) -> None:
        self.name = name
        self.source = source
        self.status = status
        super().__init__(f"{name}: {message}" if name else message)


class WeightsOfflineError(WeightsError):
    """Offline mode (``GEO_OFFLINE=1`` or ``HF_HUB_OFFLINE=1``) and the weights are not cached.

    The message is one line naming what to fetch and where it goes.
    """


def refuses_pickled_objects(exc: BaseException) -> bool:
    """Whether ``torch.load(weights_only=True)`` failed on pickled objects (a GLOBAL) rather than a damaged file.

    torch words both as "Weights only load failed"; only the first is worth ``--trust-checkpoint``.
    """
    text = str(exc)
    return "GLOBAL" in text or "Unsupported global" in text


def is_raw_pickle(path: object) -> bool:
    """Whether ``path`` is a plain Python pickle (protocol 3+), not a torch checkpoint (a zip or a legacy file)."""
    try:
        with open(str(path), "rb") as fh:
            head = fh.read(2)
    except OSError:
        return False
    return len(head) == 2 and head[0] == 0x80 and 3 <= head[1] <= 5


#: why a plain pickle is refused as a checkpoint, and how to opt in
UNTRUSTED_PICKLE = (
    "refused: an untrusted pickle. The file is a plain Python pickle, not a torch checkpoint, and "
    "unpickling it runs code from the file. If you trust its source, pass --trust-checkpoint "
    "(trust_checkpoint=True in Python)"
)


def torch_load_reason(exc: BaseException) -> str:
    """The informative line of a failed ``torch.load`` (torch wraps the cause in advice about weights_only)."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    picked = [ln for ln in lines if ln.startswith(("Unsupported operand", "invalid load key", "WeightsUnpickler"))]
    return (picked[-1] if picked else lines[0] if lines else type(exc).__name__)[:200]
