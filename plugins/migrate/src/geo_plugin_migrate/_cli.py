"""``geo migrate``: convert configs of other tools (added to ``geo`` by this plugin's ``geo_cli_commands`` hook)."""

from __future__ import annotations

from typing import Annotated

import typer

__all__ = ["migrate_app"]

migrate_app = typer.Typer(help="Convert configs written for other tools.", no_args_is_help=True)


def err(message: str) -> None:
    """Print one ``error: ...`` line on stderr."""
    typer.echo(f"error: {message}", err=True)


@migrate_app.command("terratorch")
def terratorch(
    config: Annotated[str | None, typer.Argument(help="A TerraTorch YAML config.")] = None,
    config_opt: Annotated[
        str | None, typer.Option("--config", "-c", help="The config (instead of the argument).")
    ] = None,
    output: Annotated[str | None, typer.Option("--output", "-o", help="Write here (default: stdout).")] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Exit 1 when something could not be mapped.")] = False,
) -> None:
    """Convert a TerraTorch config: every key is converted or reported as NOT MAPPED (path and suggestion)."""
    from pathlib import Path

    import yaml
    from geo_core import atomic_open

    from geo_plugin_migrate import migrate_terratorch

    config = config or config_opt
    if not config:
        err("give the TerraTorch config: geo migrate terratorch CONFIG.yaml (or -c CONFIG.yaml)")
        raise typer.Exit(2)
    path = Path(config)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        err(f"{config}: no such file")
        raise typer.Exit(2) from None
    except yaml.YAMLError as exc:
        err(f"{config}: not valid YAML: {exc}")
        raise typer.Exit(2) from None
    try:
        new, report = migrate_terratorch(data)
    except TypeError as exc:
        err(f"{config}: {exc}")
        raise typer.Exit(2) from None
    header = [f"# converted from {path.name} by `geo migrate terratorch`"]
    if report.unmapped:
        header.append("# NOT MAPPED (left out of this config):")
        header += [f"#   {u}" for u in report.unmapped]
    text = "\n".join(header) + "\n" + yaml.safe_dump(new, sort_keys=False)
    if output:
        with atomic_open(output, "w", encoding="utf-8") as fh:
            fh.write(text)
    else:
        typer.echo(text, nl=False)
    for c in report.changes:
        typer.echo(f"changed: {c}", err=True)
    for n in report.notes:
        typer.echo(f"note: {n}", err=True)
    for u in report.unmapped:
        typer.echo(f"NOT MAPPED: {u}", err=True)
    if strict and report.unmapped:
        raise typer.Exit(1)
