"""``geo list`` and ``geo info``: browse the registries without importing plugins."""

from __future__ import annotations

import fnmatch
import sys
from typing import Annotated

import typer

from geo_core._errors import GeoError
from geo_core._sources import ComponentInfo
from geo_core.cli._output import emit_json, emit_table, err

__all__ = ["list_cmd", "info_cmd", "kind_of"]

_ALIASES = {
    "backbones": "backbone",
    "decoders": "decoder",
    "necks": "neck",
    "models": "model",
    "model_factories": "model_factory",
    "model-factories": "model_factory",
    "factories": "model_factory",
    "tasks": "task",
    "datamodules": "datamodule",
    "losses": "loss",
}


def kind_of(word: str) -> str:
    """Map ``backbones``/``backbone``/... to a registry kind, or exit 2 naming the valid kinds."""
    from geo_core._plugins import KINDS

    kind = _ALIASES.get(word, word)
    if kind not in KINDS:
        err(f"unknown kind {word!r}; expected one of: {', '.join(sorted(_ALIASES))}")
        raise typer.Exit(2)
    return kind


def list_cmd(
    kind: Annotated[
        str, typer.Argument(help="backbones, decoders, necks, models, model_factories, tasks, datamodules, losses")
    ],
    source: Annotated[str | None, typer.Option("--source", "-s", help="Only this source (e.g. timm).")] = None,
    filter_: Annotated[str | None, typer.Option("--filter", "-f", help="Glob or substring on the name.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the components of one kind (reads metadata only)."""
    from geo_core._registries import REGISTRIES

    reg = REGISTRIES[kind_of(kind)]
    names = reg.names(source=source)
    if filter_:
        pat = filter_ if any(ch in filter_ for ch in "*?[") else f"*{filter_}*"
        names = [n for n in names if fnmatch.fnmatch(n, pat) or fnmatch.fnmatch(n.split(":", 1)[1], pat)]
    if as_json:
        emit_json(names)
    else:
        for n in names:
            typer.echo(n)
    if not names:  # say so (an empty screen reads as a hang or a bug) and exit 1 for scripts
        _nothing_listed(reg.kind, source, filter_)
        raise typer.Exit(1)


def _nothing_listed(kind: str, source: str | None, filter_: str | None) -> None:
    from geo_core._first_party import uninstalled_for_kind

    where = "".join([f" from source {source!r}" if source else "", f" matching {filter_!r}" if filter_ else ""])
    err(f"no {kind} components installed{where}")
    if source is None and filter_ is None:
        for dist, summary in uninstalled_for_kind(kind).items():
            sys.stderr.write(f"  {dist} provides them ({summary}): pip install {dist}\n")


def _kind_serving(name: str) -> str:
    """The one kind whose registry serves ``name`` (``geo info smp:mit_b0`` without the kind), or exit 2."""
    from geo_core._plugins import KINDS
    from geo_core._registries import REGISTRIES

    found = [k for k in KINDS if name in REGISTRIES[k]]
    if len(found) == 1:
        return found[0]
    if found:
        err(f"{name!r} is a {' and a '.join(found)}; say which: geo info {found[0]} {name}")
    else:
        err(f"no component is named {name!r}; `geo list <kind>` shows the names (kinds: {', '.join(sorted(_ALIASES))})")
    raise typer.Exit(2)


def info_cmd(
    kind: Annotated[str, typer.Argument(help="Component kind, e.g. backbone (may be left out).")],
    name: Annotated[str | None, typer.Argument(help="Qualified (smp:Unet) or plain name.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show a component's metadata without importing it (`geo info backbone smp:mit_b0` or `geo info smp:mit_b0`)."""
    from geo_core._registries import REGISTRIES

    if name is None:  # one argument: the name; find its kind
        kind, name = _kind_serving(kind), kind
    reg = REGISTRIES[kind_of(kind)]
    try:
        info = reg.info(name)
    except GeoError as exc:
        err(str(exc))
        raise typer.Exit(2) from None
    if as_json:
        emit_json(info.as_dict())
        return
    rows = [
        ("id", info.id),
        ("kind", info.kind),
        ("target", info.target),
        ("distribution", f"{info.distribution or '-'} {info.version or ''}".strip()),
    ]
    if info.alternatives:
        rows.append(("also served by", ", ".join(info.alternatives)))
    for k, v in sorted(info.metadata.items()):
        if k not in ("weights", "weights_resolver"):
            rows.append((k, v))
    rows += _weight_rows(info)
    emit_table(info.id, ["field", "value"], rows)


def _weight_rows(info: ComponentInfo) -> list[tuple[str, str]]:
    """Where the released weights come from and whether they are cached (imports no torch)."""
    from geo_core.weights import cached_weights_path
    from geo_core.weights._ref import WeightRef

    meta = info.metadata
    if meta.get("weights"):
        try:
            ref = WeightRef.from_mapping(meta["weights"])
        except GeoError as exc:
            return [("weights", f"invalid: {exc}")]
        try:
            cached = cached_weights_path(ref)
        except ImportError:
            cached = None
        where = str(cached) if cached else f"not cached; `geo weights download {info.id}` fetches them"
        return [("weights", ref.source), ("weights cached", where)]
    if meta.get("weights_resolver"):
        return [("weights", f"from the library's own table (pretrained=True, `geo weights download {info.id}`)")]
    return []
