"""A single-source datamodule's scene preprocessing, computed without building it (no Lightning).

:func:`scene_preprocessing` holds the logic :meth:`SingleSourceDataModule.scene_preprocessing
<geo_plugin_datasets._single_source.SingleSourceDataModule.scene_preprocessing>` runs.
:func:`scene_preprocessing_of_config` runs it on a config's ``data.init_args`` so that
``geo embed --input`` needs neither the datamodule class nor Lightning; the manifest names it
(``scene_preprocessing`` of each ``[datamodule.X]`` table). The option names and defaults it
needs come from the datamodules' signatures through ``_scene_options.json``, which
``python -m geo_plugin_datasets._scene`` regenerates (a test checks it is current).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from geo_core import ConfigError

from geo_plugin_datasets._bands import _name, resolve_bands, resolve_norm
from geo_plugin_datasets._io import raster_info

if TYPE_CHECKING:
    from geo_core.data import ScenePreprocessing

__all__ = ["SCENE_OPTIONS", "band_args", "scene_preprocessing", "scene_preprocessing_of_config"]

#: the datamodule options that decide how a raw scene is read and normalised
SCENE_OPTIONS = (
    "dataset_bands",
    "output_bands",
    "predict_dataset_bands",
    "predict_output_bands",
    "means",
    "stds",
    "stats_file",
    "constant_scale",
    "expand_temporal_dimension",
    "no_data_replace",
)
#: the band-list options among them, in :func:`band_args`'s order
_BAND_OPTIONS = SCENE_OPTIONS[:4]
_TABLE = Path(__file__).with_name("_scene_options.json")


def band_args(
    stage: str,
    dataset_bands: list[Any] | None,
    output_bands: list[Any] | None,
    predict_dataset_bands: list[Any] | None,
    predict_output_bands: list[Any] | None,
) -> tuple[list[Any] | None, list[Any] | None]:
    """``(dataset_bands, output_bands)`` of ``stage``: the predict ones when given, else the shared ones."""
    if stage == "predict" and (predict_dataset_bands or predict_output_bands):
        return predict_dataset_bands or dataset_bands, predict_output_bands or output_bands
    return dataset_bands, output_bands


def scene_preprocessing(options: Mapping[str, Any], reference: Callable[[], Path | None]) -> ScenePreprocessing:
    """How ``geo predict`` must read and normalise a raw scene to match training samples.

    Args:
        options: Every name of :data:`SCENE_OPTIONS`, as the datamodule holds them (band lists as lists).
        reference: Returns a file of the datamodule's data (band names and count when no
            ``dataset_bands`` tell them), or None.
    """
    from geo_core.data import ScenePreprocessing

    if options["expand_temporal_dimension"]:
        raise ConfigError(
            "scene prediction of multi-temporal samples (expand_temporal_dimension) is not supported",
            key="expand_temporal_dimension",
        )
    means, stds, stats_file = options["means"], options["stds"], options["stats_file"]
    ds, out = band_args("predict", *(options[k] for k in _BAND_OPTIONS))
    if ds is None and out is not None and any(not isinstance(b, int) for b in out):
        ref = reference()
        info = raster_info(ref) if ref is not None else None
        idx = resolve_bands(None, out, info.count if info else None, info.descriptions if info else None)
    elif ds is None and out is None:
        idx = None
    else:
        idx = resolve_bands(ds, out)
    n = len(idx) if idx is not None else None
    if n is None and not (means is None and stds is None and stats_file is None):
        ref = reference()
        n = raster_info(ref).count if ref is not None else None
    norm = resolve_norm(means, stds, stats_file, n, out) if n is not None else None
    # the model's band names, for inputs that choose bands by name (STAC assets)
    named = [_name(ds[i]) for i in idx] if ds is not None and idx is not None else [_name(b) for b in out or []]
    return ScenePreprocessing(
        bands=None if idx is None else [i + 1 for i in idx],
        constant_scale=options["constant_scale"],
        means=norm[0] if norm else None,
        stds=norm[1] if norm else None,
        no_data_replace=options["no_data_replace"],
        band_names=[str(b) for b in named] if named and all(isinstance(b, str) for b in named) else None,
    )


class _NeedsFiles(LookupError):
    """The preprocessing depends on the datamodule's files: build the datamodule."""


def _no_reference() -> Path | None:
    raise _NeedsFiles("the band names or count come from the datamodule's files")


@cache
def _table() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(_TABLE.read_text())
    return loaded


def scene_preprocessing_of_config(name: str, init_args: Mapping[str, Any]) -> ScenePreprocessing:
    """What ``name(**init_args).scene_preprocessing()`` returns, without importing the datamodule.

    Raises whenever the datamodule would be needed to tell (an unknown or missing option, bands
    named only in the data files, ...); core then builds the datamodule, which reports any error.

    Args:
        name: A datamodule of this plugin (plain name).
        init_args: The ``init_args`` of the config's ``data`` section.
    """
    entry = _table()[name]
    unknown = sorted(set(init_args) - set(entry["options"]))
    missing = sorted(set(entry["required"]) - set(init_args))
    if unknown or missing:
        raise ConfigError(f"{name}: unknown options {unknown}, missing options {missing}")
    opts = {k: init_args.get(k, entry["defaults"][k]) for k in SCENE_OPTIONS}
    for k in _BAND_OPTIONS:  # as the datamodule holds them
        opts[k] = list(opts[k]) if opts[k] is not None else None
    opts["constant_scale"] = float(opts["constant_scale"])
    return scene_preprocessing(opts, _no_reference)


def _options_table() -> dict[str, Any]:
    """Option names, required names and :data:`SCENE_OPTIONS` defaults of every single-source datamodule."""
    from geo_core import DATAMODULES, constructor_parameters

    import geo_plugin_datasets
    from geo_plugin_datasets._single_source import SingleSourceDataModule

    table: dict[str, Any] = {}
    for name in geo_plugin_datasets.__all__:
        cls = getattr(geo_plugin_datasets, name)
        if not (isinstance(cls, type) and issubclass(cls, SingleSourceDataModule)):
            continue
        params, _ = constructor_parameters(cls)  # the first constructor declaring a name sets its default
        assert f"datasets:{name}" in DATAMODULES
        table[name] = {
            "options": sorted(params),
            "required": sorted(n for n, p in params.items() if p.default is p.empty),
            "defaults": {k: params[k].default for k in SCENE_OPTIONS},
        }
    return table


def _write_table() -> None:
    """Regenerate ``_scene_options.json`` (``python -m geo_plugin_datasets._scene``)."""
    from geo_core import atomic_open

    with atomic_open(_TABLE) as fh:
        fh.write(json.dumps(_options_table(), indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":  # pragma: no cover
    _write_table()
