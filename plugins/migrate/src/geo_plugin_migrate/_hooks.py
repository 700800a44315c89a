"""pluggy hooks of geo-plugin-migrate (torch-free: imported to list plugins and build the CLI)."""

from __future__ import annotations

from typing import Any

from geo_core import hookimpl

__all__ = ["GEO_HOOKSPEC_VERSION", "geo_cli_commands"]

GEO_HOOKSPEC_VERSION = 1


@hookimpl
def geo_cli_commands(app: Any) -> None:
    """Add ``geo migrate`` (``geo migrate terratorch CONFIG``: TerraTorch configs to geo configs)."""
    from geo_plugin_migrate._cli import migrate_app

    app.add_typer(migrate_app, name="migrate")
