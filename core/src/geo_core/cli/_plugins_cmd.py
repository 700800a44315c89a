"""``geo plugins``: list, check and scaffold plugins."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from geo_core.cli._output import emit_json, emit_table

__all__ = ["plugins_app"]

plugins_app = typer.Typer(help="List, check and scaffold geo plugins.", no_args_is_help=True)


def _counts(name: str) -> dict[str, int]:
    from geo_core._plugins import KINDS, plugin_index

    idx = plugin_index()
    counts = {k: 0 for k in KINDS}
    for k in KINDS:
        counts[k] = sum(1 for e in idx.entries[k] if e.source == name)
    rec = idx.plugins[name]
    if rec.status == "ok":
        for src in rec.sources:
            counts[src.kind] = counts.get(src.kind, 0) + len(src.list_names())
    return counts


@plugins_app.command("list")
def list_plugins(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """List installed plugins with their components and status (imports no torch)."""
    from geo_core._plugins import plugin_index

    idx = plugin_index()
    data: list[dict[str, Any]] = []
    for name in sorted(idx.plugins):
        rec = idx.plugins[name]
        data.append(
            {
                "plugin": name,
                "distribution": rec.distribution,
                "version": rec.version,
                "status": rec.status,
                "reason": rec.reason,
                "components": {k: v for k, v in _counts(name).items() if v},
                "commands": list(rec.manifest.get("plugin", {}).get("commands", [])),
            }
        )
    if as_json:
        emit_json(data)
        return
    rows = []
    for d in data:
        parts = [f"{v} {k}" for k, v in d["components"].items()] + [f"geo {c}" for c in d["commands"]]
        comps = ", ".join(parts) or "-"
        status = d["status"] + (f" ({d['reason']})" if d["reason"] else "")
        rows.append((d["plugin"], d["distribution"] or "-", d["version"] or "-", comps, status))
    emit_table("geo plugins", ["plugin", "distribution", "version", "components", "status"], rows)


@plugins_app.command("doctor")
def doctor(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Import every plugin and run its self-checks; exit 1 if any is broken."""
    from geo_core._plugins import call_impl, plugin_index

    idx = plugin_index()
    results = idx.import_all()
    doctors = idx.hookimpls("geo_doctor")
    data: list[dict[str, Any]] = []
    bad = False
    for name in sorted(results):
        seconds, error = results[name]
        checks = []
        impl = doctors.get(name)
        if impl is not None and error is None:
            try:
                checks = [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in call_impl(impl) or []]
            except Exception as exc:
                error = f"geo_doctor raised {type(exc).__name__}: {exc}"
        failed = error is not None or any(not c["ok"] for c in checks)
        bad = bad or failed
        data.append(
            {"plugin": name, "ok": not failed, "import_seconds": round(seconds, 3), "error": error, "checks": checks}
        )
    if as_json:
        emit_json(data)
    else:

        def detail(d: dict[str, Any]) -> str:
            if d["error"]:
                return str(d["error"]).strip().splitlines()[-1]
            parts = []
            for c in d["checks"]:
                state = "ok" if c["ok"] else "FAILED"
                parts.append(f"{c['name']}: {state}" + (f" ({c['detail']})" if c["detail"] else ""))
            return "; ".join(parts)

        rows = [(d["plugin"], "ok" if d["ok"] else "BROKEN", f"{d['import_seconds']:.2f}s", detail(d)) for d in data]
        emit_table("geo plugins doctor", ["plugin", "status", "import", "detail"], rows)
        for d in data:
            if d["error"]:
                typer.echo(f"\n--- {d['plugin']} ---\n{d['error']}", err=True)
    if bad:
        raise typer.Exit(1)


@plugins_app.command("new")
def new(
    name: Annotated[str, typer.Argument(help="Plugin name, e.g. 'my-backbones' -> geo-plugin-my-backbones.")],
    kind: Annotated[str, typer.Option("--kind", "-k", help="backbone, decoder, datamodule or task.")] = "backbone",
    dest: Annotated[str, typer.Option("--dest", "-d", help="Folder to create the distribution in.")] = ".",
    component: Annotated[str | None, typer.Option("--component", help="Class name of the component.")] = None,
) -> None:
    """Scaffold a ready-to-install plugin distribution with conformance tests."""
    from pathlib import Path

    from geo_core.cli._output import err
    from geo_core.scaffold import scaffold_plugin

    try:
        root = scaffold_plugin(name, kind, Path(dest), component)  # type: ignore[arg-type]
    except (ValueError, FileExistsError) as exc:
        err(str(exc))
        raise typer.Exit(2) from None
    typer.echo(f"created {root}\nnext: pip install -e {root} && geo plugins list && pytest {root / 'tests'}")
