"""The Typer application and its entry point."""

from __future__ import annotations

import logging
import os
import sys
from typing import Annotated

import typer

from geo_core._version import __version__

__all__ = ["app", "main", "release_for_exit"]

app = typer.Typer(
    name="geo",
    help="Fine-tune geospatial foundation models: train, predict and manage plugins.",
    no_args_is_help=True,
    add_completion=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(version_report())
        raise typer.Exit()


def version_report() -> str:
    """The version of geo, then each plugin's and torch/lightning's, from metadata (nothing is imported)."""
    from importlib import metadata

    from geo_core._plugins import plugin_index

    lines = [f"geo {__version__}"]
    for rec in sorted(plugin_index().plugins.values(), key=lambda r: r.name):
        if rec.name == "core":
            continue
        state = "" if rec.status == "ok" else f" ({rec.status})"
        lines.append(f"  {rec.distribution or rec.name} {rec.version or '?'}{state}")
    for dist in ("torch", "lightning"):
        try:
            lines.append(f"  {dist} {metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            lines.append(f"  {dist} not installed")
    return "\n".join(lines)


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
    custom_modules: Annotated[
        str | None,
        typer.Option("--custom-modules", help="Import this file or folder of modules (custom components) first."),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log registry decisions.")] = False,
) -> None:
    """geo: fine-tune geospatial foundation models."""
    if verbose:
        logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    if custom_modules:
        from geo_core._custom import load_custom_modules

        load_custom_modules(custom_modules)


def _register_commands() -> None:
    from geo_core.cli import _info, _plugins_cmd

    app.add_typer(_plugins_cmd.plugins_app, name="plugins")
    from geo_core.cli._weights_cmd import weights_app

    app.add_typer(weights_app, name="weights")
    app.command("list")(_info.list_cmd)
    from geo_core.cli._embed_cmd import embed_cmd

    app.command("embed", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})(embed_cmd)
    app.command("info")(_info.info_cmd)
    from geo_core.cli._init_cmd import init_cmd

    app.command("init")(init_cmd)
    import importlib

    try:
        run_module = importlib.import_module("geo_core.cli._run")
    except ModuleNotFoundError as exc:  # pragma: no cover - only while bootstrapping the repository
        if exc.name != "geo_core.cli._run":
            raise
    else:
        run_module.register(app)


_ADDED: set[str] = set()


def _register_plugin_commands() -> None:
    """Let every healthy plugin add its subcommands (once per plugin and process)."""
    from geo_core._plugins import PluginStatus, call_impl, plugin_index

    idx = plugin_index()
    for name, impl in idx.hookimpls("geo_cli_commands").items():
        if name in _ADDED:
            continue
        _ADDED.add(name)
        try:
            call_impl(impl, app=app)
        except Exception as exc:  # a plugin's CLI never takes the CLI down
            rec = idx.plugins[name]
            rec.status, rec.reason, rec.error = PluginStatus.BROKEN, f"geo_cli_commands failed: {exc}", exc
            if os.environ.get("GEO_STRICT") == "1":
                raise


_register_commands()


def release_for_exit() -> None:
    """Spare the interpreter's last garbage-collection passes once a command that imported torch is done.

    At exit CPython collects garbage over every live object; after ``import torch`` that is
    several hundred thousand objects and about 0.6 s on 2 vCPUs (``python -c "import torch"``: 2.6 s
    wall against 1.9 s in the import), paid by every ``geo predict`` process of a many-scene run.
    :func:`gc.freeze` moves the live objects out of the collector's reach; reference counting still
    frees them and atexit handlers still run. Outputs are closed and renamed into place before the
    command returns, so nothing waits on a finaliser. Called once, at the end of :func:`main`.
    """
    if "torch" in sys.modules:
        import gc

        gc.freeze()


def main() -> None:
    """Console-script entry point."""
    import warnings

    from geo_core._errors import GeoError

    # Lightning 2.6 calls a torch pytree API that torch 2.14 deprecates: noise for users, not their problem.
    warnings.filterwarnings(
        "ignore", message=r"`isinstance\(treespec, LeafSpec\)` is deprecated", category=FutureWarning
    )
    try:
        _register_plugin_commands()
    except GeoError as exc:
        sys.stderr.write(f"error: {exc}\n")
        sys.exit(2)
    hint = missing_command_hint(sys.argv[1:])
    if hint:
        sys.stderr.write(f"error: {hint}\n")
        sys.exit(2)
    interrupted = _catch_interrupt()
    try:
        app()
    except KeyboardInterrupt:
        interrupted.append(True)
    except SystemExit:  # click turns Ctrl-C into "Aborted!" and exit 1; Lightning exits 1 after its shutdown
        if not interrupted:
            raise
    finally:
        release_for_exit()
    if interrupted:
        sys.stderr.write("interrupted\n")
        sys.exit(130)


def missing_command_hint(args: list[str]) -> str:
    """``"geo X comes with geo-plugin-y ... pip install geo-plugin-y"`` when X is a verb of an absent plugin.

    The verbs come from core's first-party list (``[plugin] commands`` of each plugin's manifest), so
    nothing is imported; ``""`` when the first word is a known command or nobody provides it.
    """
    word = next((a for a in args if not a.startswith("-")), None)
    if word is None:
        return ""
    known = {g.name for g in app.registered_groups}
    known |= {c.name or (c.callback.__name__ if c.callback else "") for c in app.registered_commands}
    if word in known:
        return ""
    from geo_core._first_party import not_installed_providers

    dists = not_installed_providers("command", word)
    if not dists:
        return ""
    return (
        f"`geo {word}` comes with {' or '.join(dists)}, which is not installed; install it with: pip install {dists[0]}"
    )


def _catch_interrupt() -> list[bool]:
    """Note Ctrl-C (SIGINT) as it arrives, whatever catches the KeyboardInterrupt later: exit 130, as shells expect."""
    import signal

    seen: list[bool] = []

    def on_sigint(signum: int, frame: object) -> None:
        seen.append(True)
        raise KeyboardInterrupt

    try:
        signal.signal(signal.SIGINT, on_sigint)
    except ValueError:  # pragma: no cover - not the main thread (embedded use)
        pass
    return seen
