"""``migrate_terratorch``: top-level keys, the LightningCLI optimizer/scheduler, trainer, callbacks, loggers."""

from __future__ import annotations

import copy
from typing import Any

from geo_plugin_migrate._data import migrate_data
from geo_plugin_migrate._model import migrate_model
from geo_plugin_migrate._report import MigrationReport, accepted, closest, short_name

__all__ = ["migrate_terratorch"]

#: Top-level keys carried over unchanged.
_KEEP = ("seed_everything", "ckpt_path", "custom_modules_path")
#: TerraTorch CLI keys geo handles on the command line instead.
_CLI_ONLY = {
    "predict_output_dir": "give it to `geo predict --output DIR` (or --predict_output_dir DIR)",
    "output_file_prefix": "geo names each output after its input file; remove it",
    "out_dtype": "geo writes uint8/int16 class maps and float32 otherwise; remove it",
    "deploy_config_file": "geo keeps the run config beside the checkpoints; remove it",
}
#: TerraTorch callbacks -> geo callbacks.
_CALLBACKS = {"StateDictAwareModelCheckpoint": "geo_core.tasks._callbacks.StateDictAwareModelCheckpoint"}


def migrate_terratorch(config: dict[str, Any]) -> tuple[dict[str, Any], MigrationReport]:
    """Return a geo version of a TerraTorch (LightningCLI) config and a report.

    Every key is converted, carried over (when geo takes it as is), or reported in
    ``report.unmapped`` with its path and a suggestion and removed from the result.

    Example:
        >>> cfg = {"model": {"class_path": "terratorch.tasks.SemanticSegmentationTask",
        ...                  "init_args": {"model_factory": "EncoderDecoderFactory",
        ...                                "model_args": {"backbone": "tiny_cnn", "decoder": "UNetDecoder",
        ...                                               "num_classes": 2}}}}
        >>> new, report = migrate_terratorch(cfg)
        >>> new["model"]["class_path"], report.unmapped
        ('SemanticSegmentationTask', [])
    """
    if not isinstance(config, dict):
        raise TypeError("a TerraTorch config is a mapping with model/data/trainer sections")
    src = copy.deepcopy(config)
    report = MigrationReport()
    out: dict[str, Any] = {}
    for key in _KEEP:
        if key in src:
            out[key] = src[key]
    if isinstance(src.get("trainer"), dict):
        out["trainer"] = _trainer(src["trainer"], report)
    elif "trainer" in src:
        out["trainer"] = src["trainer"]
    predict: dict[str, Any] = {}
    if "model" in src:
        out["model"] = migrate_model(src["model"], report, predict)
    if "data" in src:
        out["data"] = migrate_data(src["data"], report)
    if "optimizer" in src:
        _optimizer(src["optimizer"], out.get("model"), report)
    if "lr_scheduler" in src:
        _scheduler(src["lr_scheduler"], out.get("model"), report)
    if predict:
        out["predict"] = predict
    for key in src:
        if key in _KEEP or key in ("trainer", "model", "data", "optimizer", "lr_scheduler"):
            continue
        if key in _CLI_ONLY:
            report.not_mapped(key, f"TerraTorch CLI option {key!r}", _CLI_ONLY[key])
        elif key in (
            "tasks",
            "defaults",
            "optimization_space",
            "n_trials",
            "storage_uri",
            "run_repetitions",
            "save_models",
            "experiment_name",
        ):
            report.not_mapped(
                key,
                "a terratorch-iterate (hyper-parameter search) key",
                "geo has no search driver; run one `geo train` per setting",
            )
        else:
            report.not_mapped(
                key,
                "unknown top-level key",
                closest(key, (*_KEEP, "trainer", "model", "data", "optimizer", "lr_scheduler")),
            )
    return out, report


# -- optimizer and scheduler -------------------------------------------------------
def _task_args(model: Any, report: MigrationReport, where: str) -> dict[str, Any] | None:
    if not isinstance(model, dict) or "class_path" not in model:
        report.not_mapped(where, "there is no model section to carry it", "add a model section")
        return None
    args = model.setdefault("init_args", {})
    return args if isinstance(args, dict) else None


def _spec(value: Any) -> tuple[str, dict[str, Any]]:
    if isinstance(value, str):
        return value, {}
    if isinstance(value, dict):
        return str(value.get("class_path", "")), dict(value.get("init_args") or {})
    return "", {}


def _optimizer(value: Any, model: Any, report: MigrationReport) -> None:
    import torch

    path, args = _spec(value)
    name = short_name(path)
    if not isinstance(getattr(torch.optim, name, None), type):
        report.not_mapped(
            "optimizer",
            f"optimizer {path!r} is not in torch.optim",
            "set model.init_args.optimizer to a torch.optim class name",
        )
        return
    task = _task_args(model, report, "optimizer")
    if task is None:
        return
    if str(model.get("class_path")) == "ReconstructionTask":
        task["optimizer"] = name
    else:
        if task.get("optimizer") not in (None, name):
            report.note(
                "optimizer",
                f"replaces model.init_args.optimizer {task['optimizer']!r} "
                "(LightningCLI's optimizer wins in TerraTorch too)",
            )
        task["optimizer"] = name
    report.change("optimizer", path, f"model.init_args.optimizer: {name}")
    if "lr" in args:
        task["lr"] = args.pop("lr")
        report.change("optimizer.init_args.lr", task["lr"], "model.init_args.lr")
    if args:
        hp = dict(task.get("optimizer_hparams") or {})
        hp.update(args)
        task["optimizer_hparams"] = hp
        report.change("optimizer.init_args", sorted(args), "model.init_args.optimizer_hparams")


def _scheduler(value: Any, model: Any, report: MigrationReport) -> None:
    import torch

    path, args = _spec(value)
    name = short_name(path)
    if not isinstance(getattr(torch.optim.lr_scheduler, name, None), type):
        report.not_mapped(
            "lr_scheduler",
            f"scheduler {path!r} is not in torch.optim.lr_scheduler",
            "set model.init_args.scheduler to a torch.optim.lr_scheduler class name",
        )
        return
    task = _task_args(model, report, "lr_scheduler")
    if task is None:
        return
    task["scheduler"] = name
    report.change("lr_scheduler", path, f"model.init_args.scheduler: {name}")
    if args:
        hp = dict(task.get("scheduler_hparams") or {})
        hp.update(args)
        task["scheduler_hparams"] = hp
        report.change(
            "lr_scheduler.init_args",
            sorted(args),
            "model.init_args.scheduler_hparams" + (" (monitor included)" if "monitor" in args else ""),
        )


# -- trainer ---------------------------------------------------------------------
def _trainer(trainer: dict[str, Any], report: MigrationReport) -> dict[str, Any]:
    from lightning.pytorch import Trainer

    valid, _ = accepted(Trainer)
    out: dict[str, Any] = {}
    for key, value in trainer.items():
        where = f"trainer.{key}"
        if key not in valid:
            report.not_mapped(where, "not a Lightning Trainer argument", closest(key, valid))
        elif key == "callbacks":
            items = value if isinstance(value, list) else [value]
            out[key] = [
                x
                for i, c in enumerate(items)
                if (x := _callback(c, f"{where}[{i}]", report, trainer.get("default_root_dir"))) is not None
            ]
        elif key == "logger":
            out[key] = _logger(value, where, report)
        else:
            out[key] = value
    return out


def _lightning_class(path: str, module: str) -> bool:
    import importlib

    name = short_name(path)
    if "." in path and not path.startswith(("lightning.", "pytorch_lightning.")):
        return False
    return isinstance(getattr(importlib.import_module(module), name, None), type)


def _callback(cb: Any, where: str, report: MigrationReport, root: Any) -> Any:
    path, args = _spec(cb)
    if not path:
        return cb
    name = short_name(path)
    if name in _CALLBACKS:
        cb["class_path"] = _CALLBACKS[name]
        report.change(f"{where}.class_path", path, _CALLBACKS[name])
        if name.endswith("ModelCheckpoint") and root and "dirpath" not in args:
            # Lightning's default (the logger's version folder) moves with every run; geo keeps them in one place
            cb["init_args"] = {**args, "dirpath": f"{root}/checkpoints"}
            report.change(f"{where}.init_args.dirpath", "(the logger's version folder)", f"{root}/checkpoints")
        return cb
    if _lightning_class(path, "lightning.pytorch.callbacks"):
        if path.startswith("pytorch_lightning."):
            cb["class_path"] = name
            report.change(f"{where}.class_path", path, name)
        return cb
    if path.startswith("terratorch."):
        report.not_mapped(where, f"callback {path} has no geo equivalent", "remove it or port it as your own class")
        return None
    return cb  # the user's own class: kept, imported by dotted path at run time


def _logger(value: Any, where: str, report: MigrationReport) -> Any:
    if isinstance(value, list):
        return [x for i, v in enumerate(value) if (x := _logger(v, f"{where}[{i}]", report)) is not None]
    path, _ = _spec(value)
    if not path:
        return value
    if path.startswith("pytorch_lightning."):
        value["class_path"] = short_name(path)
        report.change(f"{where}.class_path", path, value["class_path"])
    if short_name(path) == "TensorBoardLogger":
        import importlib.util

        if importlib.util.find_spec("tensorboard") is None and importlib.util.find_spec("tensorboardX") is None:
            report.note(where, "TensorBoardLogger needs tensorboard: pip install 'geo-core[tensorboard]'")
    elif path.startswith("terratorch."):
        report.not_mapped(where, f"logger {path} has no geo equivalent", "use a Lightning logger (CSVLogger, ...)")
        return None
    return value
