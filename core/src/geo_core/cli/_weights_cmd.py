"""``geo weights``: pre-fetch released weights (for an air-gapped machine later) and show what is cached."""

from __future__ import annotations

from typing import Annotated

import typer

from geo_core.cli._output import emit_json, emit_table, err

__all__ = ["weights_app"]

weights_app = typer.Typer(
    help="Download released weights ahead of time and list the weight caches.", no_args_is_help=True
)


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


@weights_app.command("download")
def download_cmd(
    names: Annotated[list[str], typer.Argument(help="Component names (prithvi_eo_v2_300, timm:resnet50) or URLs.")],
    kind: Annotated[str | None, typer.Option("--kind", "-k", help="Look the names up in this kind only.")] = None,
) -> None:
    """Fetch the released weights of components into the caches, verified, so later runs work offline.

    Copy $GEO_WEIGHTS_DIR and the Hugging Face cache (HF_HUB_CACHE) to the offline machine and set
    GEO_OFFLINE=1 there.
    """
    from geo_core._errors import GeoError
    from geo_core.cli._info import kind_of
    from geo_core.weights import WeightRef, fetch_weights
    from geo_core.weights._components import find_component, weight_refs_for

    failed = 0
    for name in names:
        try:
            if name.startswith(("http://", "https://")):
                refs, label = [WeightRef(url=name)], name
            else:
                info = find_component(name, kind_of(kind) if kind else None)
                refs, label = weight_refs_for(info), info.id
            if not refs:
                raise GeoError(f"{label} has no released weights to download")
            path = fetch_weights(refs, name=label)
        except (GeoError, ImportError) as exc:
            err(str(exc))
            failed += 1
            continue
        typer.echo(f"{label}\t{path}")
    if failed:
        raise typer.Exit(1)


@weights_app.command("list")
def list_cmd(
    verify: Annotated[bool, typer.Option("--verify", help="Re-hash every file (slow for big files).")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show cached weight files (URL cache and Hugging Face cache) with size and verification status."""
    from geo_core.weights import hf_cache_dir, list_cached, weights_dir

    entries = list_cached(verify=verify)
    if as_json:
        emit_json([e.as_dict() for e in entries])
    elif not entries:
        typer.echo(f"no cached weights in {weights_dir()} or {hf_cache_dir()}")
    else:
        rows = [(e.source, _mb(e.size), e.status, e.detail) for e in entries]
        emit_table("cached weights", ["source", "size", "status", "detail"], rows)
    if any(e.status == "mismatch" for e in entries):
        err("some cached files do not match their record: delete them and run `geo weights download` again")
        raise typer.Exit(1)
