"""Every datamodule the plugin registers: conformance on tiny GeoTIFFs, and a signature configs can rely on.

The options are declared once along each class chain and forwarded by keyword; these
tests hold that every registered name keeps accepting, documenting and showing (with
its default) every option, nothing positional, and a did-you-mean for a typo.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geo_core
import numpy as np
import pytest
import yaml
from geo_core import ConfigError, accepted_arguments, runs
from geo_core.testing import check_datamodule, make_segmentation_folder, write_geotiff

# rasterio's window transforms use `Affine * Affine`, flagged by affine>=3.1 (third-party code).
pytestmark = pytest.mark.filterwarnings("ignore:Use `@` matmul instead of `\\*` mul operator:PendingDeprecationWarning")

NAMES = geo_core.DATAMODULES.names(source="datasets")

#: What each registered datamodule is checked with: init args on data under a folder, the target key, bands.
Case = tuple[dict[str, Any], str, int]


def _pixelwise(root: Path) -> Case:
    images, labels = make_segmentation_folder(root, n=4, size=8)
    stages = {f"{s}_data_root": images for s in ("train", "val", "test", "predict")}
    label_roots = {f"{s}_label_data_root": labels for s in ("train", "val", "test")}
    return {**stages, **label_roots, "img_grep": "*_img.tif", "label_grep": "*_mask.tif"}, "mask", 6


def _classification(root: Path) -> Case:
    for i in range(4):
        write_geotiff(
            root / "train" / ("cloud" if i % 2 else "clear") / f"t{i}.tif", bands=3, height=8, width=8, seed=i
        )
        write_geotiff(root / "predict" / f"p{i}.tif", bands=3, height=8, width=8, seed=10 + i)
    stages = {f"{s}_data_root": root / "train" for s in ("train", "val", "test")}
    return {**stages, "predict_data_root": root / "predict"}, "label", 3


def _catalog(root: Path, header: str, rows: list[str]) -> dict[str, Any]:
    for i in range(len(rows)):
        write_geotiff(root / "img" / f"t{i}.tif", bands=3, height=8, width=8, seed=i)
    lines = [header] + [f"img/t{i}.tif,{row}" for i, row in enumerate(rows)]
    (root / "catalog.csv").write_text("\n".join(lines) + "\n")
    return {f"{s}_data_root": root / "catalog.csv" for s in ("train", "val", "test")} | {
        "predict_data_root": root / "img"
    }


def _multilabel(root: Path) -> Case:
    args = _catalog(root, "filename,cloud,water", ["1,0", "0,1", "1,1", "0,0"])
    return {**args, "label_columns": ["cloud", "water"]}, "label", 3


def _scalar(root: Path) -> Case:
    return _catalog(root, "filename,target", ["0.5", "1.5", "2.0", "3.0"]), "label", 3


def _multimodal(root: Path) -> Case:
    for i in range(4):
        write_geotiff(root / "s1" / f"t{i}_s1.tif", bands=2, height=8, width=8, seed=i)
        write_geotiff(root / "s2" / f"t{i}_s2.tif", bands=4, height=8, width=8, seed=10 + i)
        write_geotiff(root / "lbl" / f"t{i}.tif", np.full((8, 8), i % 2, np.uint8))
    modal_roots = {"S1": root / "s1", "S2": root / "s2"}
    stages = {f"{s}_data_root": modal_roots for s in ("train", "val", "test", "predict")}
    label_roots = {f"{s}_label_data_root": root / "lbl" for s in ("train", "val", "test")}
    grep = {"image_grep": {"S1": "*_s1.tif", "S2": "*_s2.tif"}, "label_grep": "*.tif"}
    return {**stages, **label_roots, **grep, "modalities": ["S1", "S2"]}, "mask", 6


def _detection(root: Path) -> Case:
    origin, res = (500000.0, 4200000.0), 30.0
    for i in range(4):
        write_geotiff(root / f"scene{i}.tif", bands=3, height=16, width=16, seed=i, origin=origin, resolution=res)
        x0, y0 = origin[0] + (2 + i) * res, origin[1] - 3 * res
        ring = [[x0, y0], [x0 + 6 * res, y0], [x0 + 6 * res, y0 - 6 * res], [x0, y0 - 6 * res], [x0, y0]]
        feature = {
            "type": "Feature",
            "properties": {"class": "square"},
            "geometry": {"type": "Polygon", "coordinates": [ring]},
        }
        crs = {"type": "name", "properties": {"name": "EPSG:32616"}}
        (root / f"scene{i}.geojson").write_text(
            json.dumps({"type": "FeatureCollection", "crs": crs, "features": [feature]})
        )
    stages = {f"{s}_data_root": str(root) for s in ("train", "val", "test", "predict")}
    return {**stages, "class_names": ["background", "square"]}, "boxes", 3


CASES: dict[str, Callable[[Path], Case]] = {
    "GenericNonGeoSegmentationDataModule": _pixelwise,
    "GenericNonGeoPixelwiseRegressionDataModule": _pixelwise,
    "GenericNonGeoClassificationDataModule": _classification,
    "GenericNonGeoMultiLabelClassificationDataModule": _multilabel,
    "GenericNonGeoScalarRegressionDataModule": _scalar,
    "GenericMultiModalDataModule": _multimodal,
    "GenericDetectionDataModule": _detection,
}


def _short(name: str) -> str:
    return name.split(":", 1)[1]


def _case(name: str, root: Path) -> Case:
    assert _short(name) in CASES, f"{name} is registered but has no synthetic data here: add it to CASES"
    return CASES[_short(name)](root)


def _documented(cls: type) -> set[str]:
    """Names under ``Args:`` in the docstrings along the class chain (where each option is declared)."""
    names: set[str] = set()
    for c in cls.__mro__:
        doc = inspect.getdoc(c) if "__init__" in vars(c) else None
        if doc and "Args:" in doc:
            names |= set(re.findall(r"^    (\w+):", doc.split("Args:", 1)[1], re.MULTILINE))
    return names


def _defaults(cls: type) -> dict[str, Any]:
    """Each option's default, from the first constructor along the class chain that declares it."""
    found: dict[str, Any] = {}
    for c in cls.__mro__:
        if "__init__" in vars(c):
            for p in list(inspect.signature(vars(c)["__init__"]).parameters.values())[1:]:
                if p.default is not p.empty:
                    found.setdefault(p.name, p.default)
    return found


@pytest.mark.parametrize("name", NAMES)
def test_registered_datamodule_conforms(name: str, tmp_path: Path) -> None:
    args, target, bands = _case(name, tmp_path)
    dm = geo_core.DATAMODULES.build(name, batch_size=2, **args)
    batches = check_datamodule(dm, ("fit", "test", "predict"), bands=bands, target=target)
    assert set(batches) == {"train_dataloader", "val_dataloader", "test_dataloader", "predict_dataloader"}


@pytest.mark.parametrize("name", NAMES)
def test_every_option_is_keyword_only_and_documented(name: str) -> None:
    cls = geo_core.DATAMODULES.get(name)
    accepted, open_kwargs = accepted_arguments(cls, follow_mro=True)
    assert not open_kwargs, f"{name} swallows unknown keys (**kwargs reaches no constructor)"
    assert {"batch_size", "num_workers", "train_data_root", "predict_data_root"} <= set(accepted)
    for c in cls.__mro__:
        if "__init__" in vars(c) and c.__module__.startswith("geo_plugin_datasets"):
            params = list(inspect.signature(vars(c)["__init__"]).parameters.values())[1:]
            positional = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
            assert not positional, f"{c.__name__} takes {positional} positionally; put * after self"
    undocumented = sorted(set(accepted) - _documented(cls))
    assert not undocumented, f"{name}: options without an Args entry: {undocumented}"


@pytest.mark.parametrize("name", NAMES)
def test_config_shows_every_option_and_suggests_on_a_typo(name: str, tmp_path: Path) -> None:
    cls = geo_core.DATAMODULES.get(name)
    accepted, _ = accepted_arguments(cls, follow_mro=True)
    args, _, _ = _case(name, tmp_path)
    init_args = {
        "batch_size": 2,
        **{k: v for k, v in args.items() if k in ("modalities", "train_data_root", "class_names")},
    }
    init_args = json.loads(json.dumps(init_args, default=str))
    data = {"class_path": f"{cls.__module__}.{cls.__name__}", "init_args": init_args}
    shown = yaml.safe_load(runs.dump(runs.compose({"data": data}), need_model=False))["data"]["init_args"]
    assert sorted(shown) == sorted(accepted)  # jsonargparse follows the forwarded options too
    for option, default in _defaults(cls).items():  # each default as declared, where it is declared
        if option not in init_args and (default is None or isinstance(default, (bool, int, float, str))):
            assert shown[option] == default, f"{name}.{option} shows {shown[option]!r}, declared {default!r}"
    for typo, meant in (("batch_sise", "batch_size"), ("num_worker", "num_workers")):
        bad = {"data": {**data, "init_args": {**init_args, typo: 1}}}
        with pytest.raises(ConfigError, match=f"did you mean 'data.init_args.{meant}'"):
            runs.check(runs.compose(bad))
