"""pluggy hooks of geo-plugin-zoobot (torch-free: imported to list plugins and build the CLI)."""

from __future__ import annotations

from typing import Any

from geo_core import hookimpl

__all__ = ["GEO_HOOKSPEC_VERSION", "geo_cli_commands"]

GEO_HOOKSPEC_VERSION = 1


@hookimpl
def geo_cli_commands(app: Any) -> None:
    """Add ``geo zoobot ...`` (``geo zoobot predict --catalog ... --checkpoint ... --output ...``)."""
    from geo_plugin_zoobot._cli import zoobot_app

    app.add_typer(zoobot_app, name="zoobot")
