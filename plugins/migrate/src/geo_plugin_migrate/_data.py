"""The ``data:`` section: datamodule class, its arguments, band lists and transform specs."""

from __future__ import annotations

from typing import Any

from geo_plugin_migrate._names import builder_of, component
from geo_plugin_migrate._report import MigrationReport, accepted, closest, short_name

__all__ = ["migrate_data", "expand_bands", "migrate_transforms"]

_TRANSFORM_KEYS = ("train_transform", "val_transform", "test_transform", "predict_transform", "transforms")
_BAND_KEYS = ("dataset_bands", "output_bands", "predict_dataset_bands", "predict_output_bands")
#: Transform specs geo runs itself, with or without albumentations.
_TRANSFORMS = (
    "HorizontalFlip",
    "VerticalFlip",
    "RandomRotate90",
    "D4",
    "RandomCrop",
    "CenterCrop",
    "ToTensorV2",
    "Rotate",
    "Resize",
    "RandomResizedCrop",
    "Normalize",
    "Flip",
    "Transpose",
)


def expand_bands(bands: Any) -> Any:
    """Expand TerraTorch band intervals (``[0, 11]`` pairs, inclusive) into single bands."""
    if not isinstance(bands, list):
        return bands
    out: list[Any] = []
    for b in bands:
        if isinstance(b, (list, tuple)):
            if len(b) != 2 or not all(isinstance(x, int) for x in b):
                raise ValueError(f"a band interval is two integers [start, end], got {b!r}")
            out.extend(range(int(b[0]), int(b[1]) + 1))
        else:
            out.append(b)
    return out


def _bands(args: dict[str, Any], where: str, report: MigrationReport, prefix: str = "") -> None:
    """Intervals expanded; integer output bands (names of placeholders) become positions in dataset_bands."""
    ds_key, out_key = f"{prefix}dataset_bands", f"{prefix}output_bands"
    for key in (ds_key, out_key):
        value = args.get(key)
        if isinstance(value, dict):  # per modality
            for m, v in value.items():
                try:
                    new = expand_bands(v)
                except ValueError as exc:
                    report.not_mapped(f"{where}.{key}.{m}", str(exc), "write each band or [start, end]")
                    continue
                if new != v:
                    report.change(f"{where}.{key}.{m}", v, new)
                value[m] = new
        elif isinstance(value, list):
            try:
                new = expand_bands(value)
            except ValueError as exc:
                report.not_mapped(f"{where}.{key}", str(exc), "write each band or [start, end]")
                continue
            if new != value:
                report.change(f"{where}.{key}", value, new)
            args[key] = new
    ds, ob = args.get(ds_key), args.get(out_key)
    pairs = (
        [(ds, ob, out_key, None)]
        if isinstance(ds, list) and isinstance(ob, list)
        else [(ds.get(m), ob.get(m), f"{out_key}.{m}", m) for m in ob]
        if isinstance(ds, dict) and isinstance(ob, dict)
        else []
    )
    for dsl, obl, key, m in pairs:
        if not isinstance(dsl, list) or not isinstance(obl, list) or not any(isinstance(b, int) for b in obl):
            continue
        names = [getattr(b, "value", b) for b in dsl]
        new = []
        for b in obl:
            if isinstance(b, int) and b in names:
                new.append(names.index(b))
            else:
                new.append(b)
        if new != obl:
            report.change(
                f"{where}.{key}",
                obl,
                f"{new} (positions in dataset_bands: integer bands are names in TerraTorch, positions in geo)",
            )
            if m is None:
                args[out_key] = new
            else:
                args[out_key][m] = new


def _transform(spec: Any, where: str, report: MigrationReport) -> Any:
    path = spec if isinstance(spec, str) else spec.get("class_path") if isinstance(spec, dict) else None
    if not isinstance(path, str):
        return spec
    name = short_name(path)
    if path in ("albumentations.pytorch.ToTensorV2", "albumentations.pytorch.transforms.ToTensorV2"):
        report.change(where, path, "ToTensorV2")
        return "ToTensorV2" if isinstance(spec, str) else {**spec, "class_path": "ToTensorV2"}
    if name in _TRANSFORMS and (path == name or path.startswith("albumentations.")):
        return spec
    if path.startswith("albumentations."):
        import importlib.util

        if importlib.util.find_spec("albumentations") is None:
            report.note(where, f"{path} needs albumentations: pip install 'geo-plugin-datasets[albumentations]'")
        return spec
    if path.startswith("terratorch."):
        report.not_mapped(
            where,
            f"transform {path} has no geo equivalent",
            "geo reads (C, T, H, W) samples directly (expand_temporal_dimension); remove it",
        )
        return None
    if "." not in path:
        report.not_mapped(where, f"unknown transform {path!r}", closest(name, _TRANSFORMS))
        return None
    return spec  # a dotted path of the user's own (imported at run time)


def migrate_transforms(value: Any, where: str, report: MigrationReport) -> Any:
    """Keep the transform specs geo runs; report TerraTorch-only ones."""
    if isinstance(value, list):
        return [x for i, v in enumerate(value) if (x := _transform(v, f"{where}[{i}]", report)) is not None]
    if value is None:
        return None
    return _transform(value, where, report)


def migrate_data(data: Any, report: MigrationReport) -> Any:
    """Convert the datamodule class path and check every argument against geo's datamodule."""
    if isinstance(data, str):
        data = {"class_path": data}
    if not isinstance(data, dict) or not isinstance(data.get("class_path"), str):
        return data
    path = data["class_path"]
    name = short_name(path)
    new = component(name, "datamodule", report, "data.class_path")
    if new != path:
        report.change("data.class_path", path, new)
    args = dict(data.get("init_args") or {})
    for k, v in (data.get("dict_kwargs") or {}).items():
        args.setdefault(k, v)
        report.change(f"data.dict_kwargs.{k}", "dict_kwargs", "data.init_args")
    for k in data:
        if k not in ("class_path", "init_args", "dict_kwargs"):
            report.not_mapped(f"data.{k}", "not class_path/init_args", "move it under data.init_args")
    cls = builder_of("datamodule", new)
    if cls is None:
        return {"class_path": new, "init_args": args}
    valid, var_kw = accepted(cls)
    where = "data.init_args"
    _bands(args, where, report)
    _bands(args, where, report, "predict_")
    out: dict[str, Any] = {}
    for key, value in args.items():
        w = f"{where}.{key}"
        if key in _TRANSFORM_KEYS:
            value = migrate_transforms(value, w, report)
        if key == "img_grep" and "img_grep" not in valid and "image_grep" in valid:
            out["image_grep"] = value
            report.change(w, key, "image_grep")
        elif key == "image_grep" and "image_grep" not in valid and "img_grep" in valid:
            out["img_grep"] = value
            report.change(w, key, "img_grep")
        elif key in valid or var_kw:
            out[key] = value
        else:
            report.not_mapped(w, f"{new} has no argument {key!r}", closest(key, valid))
    return {"class_path": new, "init_args": out}
