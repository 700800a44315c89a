"""The ``geo`` command line (Typer). Importing it never imports torch.

Plugins add commands through the ``geo_cli_commands`` hook; :func:`guard` runs a command's work
and turns geo's errors into one ``error: ...`` line and exit code 2 (config) or 1 (anything else).
"""

from geo_core.cli._app import app, main
from geo_core.cli._run import _guard as guard

__all__ = ["app", "guard", "main"]
