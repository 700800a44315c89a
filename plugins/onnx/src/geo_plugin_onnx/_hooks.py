"""pluggy hooks of geo-plugin-onnx (torch-free: imported to list plugins and build the CLI)."""

from __future__ import annotations

from typing import Any

from geo_core import hookimpl

__all__ = ["GEO_HOOKSPEC_VERSION", "geo_cli_commands"]

GEO_HOOKSPEC_VERSION = 1


@hookimpl
def geo_cli_commands(app: Any) -> None:
    """Add ``geo export`` (a trained model to ONNX, checked with onnxruntime)."""
    from geo_plugin_onnx._cli import export_cmd

    app.command("export", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})(export_cmd)
