"""The ``geo`` command line (Typer). Importing it never imports torch."""

from geo_core.cli._app import app, main

__all__ = ["app", "main"]
