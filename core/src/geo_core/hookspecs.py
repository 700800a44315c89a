"""The pluggy hook specification plugins implement.

Modules in the ``geo.plugins`` entry-point group hold ``@hookimpl`` functions.
They must stay torch-free: they are imported to list components.

A plugin declares which spec it was written for with a module-level
``GEO_HOOKSPEC_VERSION = 1``; a plugin for another major version is reported as
incompatible instead of being called.

Example:
    >>> from geo_core import hookimpl, ComponentSource
    >>> @hookimpl
    ... def geo_component_sources():
    ...     return [ComponentSource(kind="backbone", source="mine", names=["tiny"],
    ...                             builder="my_pkg._build:build")]
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from geo_core._sources import ComponentSource, DoctorCheck

__all__ = ["HOOKSPEC_VERSION", "hookspec", "hookimpl", "GeoHookSpec"]

#: The version of this hook specification. Bumped on incompatible changes.
HOOKSPEC_VERSION = 1

hookspec = pluggy.HookspecMarker("geo")
hookimpl = pluggy.HookimplMarker("geo")


class GeoHookSpec:
    """Hooks a geo plugin may implement."""

    @hookspec
    def geo_component_sources(self) -> list[ComponentSource]:  # type: ignore[empty-body]
        """Return catalogues of components that cannot be listed as entry points.

        Returns:
            A list of :class:`geo_core.ComponentSource`; their ``names`` are read
            lazily, their builders imported only when a component is built.
        """

    @hookspec
    def geo_cli_commands(self, app: Any) -> None:
        """Add subcommands to the ``geo`` Typer application ``app``."""

    @hookspec
    def geo_doctor(self) -> list[DoctorCheck]:  # type: ignore[empty-body]
        """Run the plugin's self-checks and return their results."""
