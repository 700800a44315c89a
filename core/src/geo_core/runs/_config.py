"""Run configurations: YAML + dotted overrides, registry names as ``class_path``, checks, defaults, building.

The flow (shared by the CLI and the Python API in :mod:`geo_core.runs`):

1. :func:`compose` reads YAML files (later ones deep-merge over earlier ones), applies dotted
   overrides (``trainer.max_epochs=2``, ``model.lr=0.1`` reaches ``model.init_args.lr``),
   imports ``custom_modules_path`` and rewrites registry names (``SemanticSegmentationTask``)
   into import paths.
2. :func:`check` reports unknown keys, unknown components and wrong types as
   :class:`~geo_core.ConfigError` naming the key and the closest valid one. Nothing is built.
3. :func:`with_defaults` adds the run directory, CSV logging, best+last checkpoints on the
   task's monitor, atomic checkpoint writes and the seed (all visible with ``--print-config``).
4. :func:`build` instantiates trainer, task and datamodule with jsonargparse.
"""

from __future__ import annotations

import copy
import importlib
import importlib.util
import inspect
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from geo_core._errors import ConfigError, UnknownComponentError
from geo_core._signature import accepted_arguments, parameters
from geo_core._suggest import close_matches

__all__ = [
    "TOP_KEYS",
    "RunConfig",
    "Built",
    "compose",
    "check",
    "with_defaults",
    "build",
    "dump",
    "checkpoint_dir",
    "find_checkpoint",
    "nodes_of_class",
]

#: Top-level keys of a run configuration.
TOP_KEYS = ("seed_everything", "trainer", "model", "data", "ckpt_path", "custom_modules_path", "predict")
_SLOT_REGISTRY = {"model": "task", "data": "datamodule"}


@dataclass
class RunConfig:
    """A composed configuration (plain dict) and where it came from."""

    config: dict[str, Any]
    name: str = "run"
    base_dir: Path | None = None


@dataclass
class Built:
    """What :func:`build` returns."""

    trainer: Any
    model: Any
    data: Any
    config: dict[str, Any]


# -- composing ------------------------------------------------------------------
def _merge(base: dict[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    for k, v in new.items():
        if isinstance(v, Mapping) and isinstance(base.get(k), dict) and "class_path" not in v:
            _merge(base[k], v)
        elif (
            isinstance(v, Mapping)
            and isinstance(base.get(k), dict)
            and v.get("class_path") == base[k].get("class_path")
        ):
            _merge(base[k], v)
        else:
            base[k] = copy.deepcopy(v)
    return base


def _parse_value(text: str) -> Any:
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def normalise_overrides(tokens: Sequence[str]) -> list[tuple[str, Any]]:
    """``["--a.b=1", "--c", "x", "d.e=2"]`` -> ``[("a.b", 1), ("c", "x"), ("d.e", 2)]``."""
    out: list[tuple[str, Any]] = []
    i = 0
    toks = list(tokens)
    while i < len(toks):
        t = toks[i]
        key = t[2:] if t.startswith("--") else t
        if "=" in key:
            k, _, v = key.partition("=")
            out.append((k, _parse_value(v)))
        elif t.startswith("--") and i + 1 < len(toks) and not toks[i + 1].startswith("--"):
            out.append((key, _parse_value(toks[i + 1])))
            i += 1
        else:
            raise ConfigError(f"cannot read override {t!r}; write key.sub=value (e.g. trainer.max_epochs=2)", key=key)
        i += 1
    return out


def _set_dotted(cfg: dict[str, Any], dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    node: Any = cfg
    for j, p in enumerate(parts):
        last = j == len(parts) - 1
        if isinstance(node, dict) and "class_path" in node and p not in ("class_path", "init_args", "dict_kwargs"):
            node = node.setdefault("init_args", {})
        if isinstance(node, list):
            if not p.isdigit() or int(p) >= len(node):
                raise ConfigError(f"override {dotted!r}: {p!r} is not an index of the list", key=dotted)
            if last:
                node[int(p)] = value
                return
            node = node[int(p)]
            continue
        if last:
            node[p] = value
            return
        if not isinstance(node.get(p), (dict, list)):
            node[p] = {}
        node = node[p]


def _load_yaml(path: Path) -> dict[str, Any]:
    import yaml

    if path.is_dir():
        inside = sorted(p.name for p in path.iterdir() if p.suffix in (".yaml", ".yml"))[:5]
        hint = f" (YAML files in it: {', '.join(inside)})" if inside else ""
        raise ConfigError(f"config {str(path)!r} is a directory, not a YAML file{hint}", key="config")
    if not path.is_file():
        raise ConfigError(f"config file {str(path)!r} does not exist", key="config")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path}: not a YAML text file (binary content at byte {exc.start}); give the YAML "
            "config, e.g. one written by `geo init`",
            key="config",
        ) from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}", key="config") from exc
    if data is None:
        raise ConfigError(
            f"{path}: the config is empty; it needs at least a model section (`geo init` writes a "
            "commented starting config)",
            key="config",
        )
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a config must be a mapping at the top level", key="config")
    return data


#: config slots whose bare class names live in a Lightning module
_LIGHTNING_SLOTS = {"trainer.callbacks": "lightning.pytorch.callbacks", "trainer.logger": "lightning.pytorch.loggers"}


def _lightning_class(name: str, module: str, slot: str) -> tuple[str, Any]:
    mod = importlib.import_module(module)
    obj = getattr(mod, name, None)
    if isinstance(obj, type):
        return f"{module}.{name}", obj
    names = sorted(n for n in dir(mod) if isinstance(getattr(mod, n, None), type) and not n.startswith("_"))
    close = close_matches(name, names, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise ConfigError(
        f"{slot}.class_path: {name!r} is not in {module}; {hint}give a dotted path "
        "(my_package.MyCallback) for your own classes",
        key=f"{slot}.class_path",
    )


def _lightning_module_of(slot: str | None) -> str | None:
    for prefix, module in _LIGHTNING_SLOTS.items():
        if slot and (slot == prefix or slot.startswith(prefix + ".")):
            return module
    return None


def _dotted_of(name: str, slot: str | None) -> str:
    """A ``class_path`` (registry name, qualified id or dotted path) as a dotted path, importing nothing.

    Registry names are looked up in the metadata (an unknown one is a :class:`ConfigError` with a
    did-you-mean, before torch loads); bare Lightning callback/logger names get their module.
    """
    from geo_core import REGISTRIES

    if "." in name and ":" not in name:
        return name
    module = _lightning_module_of(slot)
    if module is not None:  # bare names as LightningCLI takes them: EarlyStopping
        return f"{module}.{name}"
    kinds = [_SLOT_REGISTRY[slot]] if slot in _SLOT_REGISTRY else []
    kinds += [k for k in ("task", "datamodule", "model", "loss") if k not in kinds]
    first_error: UnknownComponentError | None = None
    for kind in kinds:
        try:
            target = REGISTRIES[kind].info(name).target
        except UnknownComponentError as exc:
            first_error = first_error or exc
            continue
        return target.replace(":", ".")
    assert first_error is not None
    key = f"{slot}.class_path" if slot else "class_path"
    raise ConfigError(f"{key}: {first_error}", key=key)


def _class_of(name: str, slot: str | None) -> tuple[str, Any]:
    """Resolve a ``class_path`` (registry name, qualified id or dotted path) to (dotted path, class)."""
    dotted = _dotted_of(name, slot)
    mod, _, attr = dotted.rpartition(".")
    if mod in _LIGHTNING_SLOTS.values():
        return _lightning_class(attr, mod, slot or "class_path")
    if dotted != name:  # a registry name: its builder, as the registry imports it (in-process ones too)
        from geo_core import REGISTRIES

        kinds = [_SLOT_REGISTRY[slot]] if slot in _SLOT_REGISTRY else []
        for kind in [*kinds, "task", "datamodule", "model", "loss"]:
            if name in REGISTRIES[kind]:
                return dotted, REGISTRIES[kind].get(name)
    try:
        obj = importlib.import_module(mod)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"class_path {name!r} cannot be imported: {exc}", key=slot) from exc
    return dotted, obj


def _is_transform_slot(key: str) -> bool:
    """``train_transform``, ``transforms``...: specs the datamodule builds itself (``ToTensorV2``, albumentations)."""
    return key == "transforms" or key == "transform" or key.endswith("_transform")


def _resolve(node: Any, where: str, slot: str | None = None) -> None:
    if isinstance(node, dict):
        if isinstance(node.get("class_path"), str):
            node["class_path"] = _dotted_of(node["class_path"], slot or where)
        for k, v in node.items():
            if _is_transform_slot(str(k)):
                continue
            _resolve(v, f"{where}.{k}" if where else k, slot=k if not where else None)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            _resolve(v, f"{where}.{i}")


def _expose_custom_package(names: list[str]) -> None:
    """Make ``geo_custom_modules.<name>`` importable by dotted class_path (the parent package is virtual)."""
    import sys
    import types

    parent = sys.modules.get("geo_custom_modules")
    if parent is None:
        parent = types.ModuleType("geo_custom_modules")
        parent.__path__ = []
        sys.modules["geo_custom_modules"] = parent
    for n in names:
        mod = sys.modules.get(n)
        if mod is not None:
            setattr(parent, n.rpartition(".")[2], mod)


def compose(
    configs: Sequence[str | Path | Mapping[str, Any]] | str | Path | Mapping[str, Any],
    overrides: Sequence[str] | Mapping[str, Any] | None = None,
    resolve: bool = True,
) -> RunConfig:
    """Read, merge and override configs; import custom modules; resolve registry names.

    Args:
        configs: YAML paths and/or dicts, merged in order.
        overrides: Dotted ``key=value`` strings or a ``{dotted key: value}`` dict.
        resolve: Rewrite registry names into import paths (imports the classes); False keeps the names.
    """
    if isinstance(configs, (str, Path, Mapping)):
        configs = [configs]
    cfg: dict[str, Any] = {}
    name, base = "run", None
    for c in configs:
        if isinstance(c, Mapping):
            _merge(cfg, copy.deepcopy(dict(c)))
        else:
            p = Path(c)
            _merge(cfg, _load_yaml(p))
            if base is None:  # the run is named after the first config file
                name, base = p.stem, p.parent
    pairs = list(overrides.items()) if isinstance(overrides, Mapping) else normalise_overrides(overrides or [])
    for k, v in pairs:
        _set_dotted(cfg, k, v)
    cm = cfg.get("custom_modules_path")
    if cm:
        from geo_core._custom import load_custom_modules

        p = Path(cm)
        if not p.exists() and base is not None and (base / p).exists():
            p = base / p
        _expose_custom_package(load_custom_modules(p))
    unknown = [k for k in cfg if k not in TOP_KEYS]
    if unknown:
        raise _unknown_key(unknown[0], "", list(TOP_KEYS))
    for slot in ("model", "data"):
        node = cfg.get(slot)
        if isinstance(node, str):
            cfg[slot] = node = {"class_path": node}
        if node is not None and not (isinstance(node, dict) and "class_path" in node):
            example = "SemanticSegmentationTask" if slot == "model" else "GenericNonGeoSegmentationDataModule"
            raise ConfigError(
                f"{slot} needs a class_path (e.g. {slot}: {{class_path: {example}, init_args: {{...}}}})",
                key=f"{slot}.class_path",
            )
    if resolve:
        _resolve(cfg, "")
    return RunConfig(cfg, name, base)


# -- checking -------------------------------------------------------------------
def _unknown_key(key: str, where: str, valid: Sequence[str]) -> ConfigError:
    full = f"{where}.{key}" if where else key
    close = close_matches(key, valid, n=1, cutoff=0.5)
    hint = f"; did you mean {(f'{where}.' if where else '') + close[0]!r}?" if close else ""
    shown = ", ".join(sorted(valid)[:40])
    return ConfigError(f"unknown config key {full!r}{hint} (valid keys here: {shown})", key=full)


def _params(obj: Any) -> tuple[list[str], bool]:
    """Accepted keyword names; follows ``**kwargs`` up the MRO (the usual ``super().__init__(**kwargs)``)."""
    return accepted_arguments(obj, follow_mro=True)


def _check_nulls(cls: Any, args: Mapping[str, Any], where: str) -> None:
    """``key: null`` for a parameter whose annotation does not allow None (jsonargparse lets it through)."""
    targets = [vars(c)["__init__"] for c in cls.__mro__ if "__init__" in vars(c)] if isinstance(cls, type) else [cls]
    for target in targets:
        found = parameters(target)
        if found is None:  # pragma: no cover - builtins without a signature
            return
        params = {p.name: p for p in found}
        for k, v in args.items():
            p = params.get(k)
            if v is not None or p is None or p.annotation is inspect.Parameter.empty or p.default is None:
                continue
            ann = p.annotation if isinstance(p.annotation, str) else repr(p.annotation)
            if not any(t in ann for t in ("None", "Optional", "Any", "object")):
                raise ConfigError(
                    f"{where}.{k} cannot be null (expects {ann}); give a value or remove the key", key=f"{where}.{k}"
                )
        if not any(p.kind is p.VAR_KEYWORD for p in params.values()):
            return


def _check_component_names(args: Mapping[str, Any], where: str) -> None:
    from geo_core import LOSSES, MODEL_FACTORIES, REGISTRIES

    def need(reg: Any, name: Any, key: str) -> None:
        if isinstance(name, str):
            try:
                reg.resolve(name)
            except UnknownComponentError as exc:
                raise ConfigError(f"{where}.{key}: {exc}", key=f"{where}.{key}") from exc

    need(MODEL_FACTORIES, args.get("model_factory"), "model_factory")
    loss = args.get("loss")
    for n in [loss] if isinstance(loss, str) else list(loss) if isinstance(loss, Mapping) else []:
        need(LOSSES, n, "loss")
    margs, factory = args.get("model_args"), args.get("model_factory")
    if isinstance(margs, Mapping) and isinstance(factory, str):  # a factory's manifest names its component args
        declared = MODEL_FACTORIES.info(factory).metadata.get("component_args") or {}
        for key, kind in declared.items():
            if kind in REGISTRIES:
                need(REGISTRIES[kind], margs.get(key), f"model_args.{key}")


def _check_node(node: Any, where: str) -> None:
    if isinstance(node, list):
        for i, v in enumerate(node):
            _check_node(v, f"{where}.{i}")
        return
    if not isinstance(node, dict) or "class_path" not in node:
        return
    extra = [k for k in node if k not in ("class_path", "init_args", "dict_kwargs")]
    if extra:
        raise _unknown_key(extra[0], where, ["class_path", "init_args", "dict_kwargs"])
    _, cls = _class_of(node["class_path"], where)
    args = node.get("init_args") or {}
    if not isinstance(args, dict):
        raise ConfigError(f"{where}.init_args must be a mapping", key=f"{where}.init_args")
    valid, var_kw = _params(cls)
    if not var_kw:
        for k in args:
            if k not in valid:
                raise _unknown_key(k, f"{where}.init_args", valid)
    _check_nulls(cls, args, f"{where}.init_args")
    _check_component_names(args, f"{where}.init_args")
    for k, v in args.items():
        if not _is_transform_slot(str(k)):
            _check_node(v, f"{where}.init_args.{k}")


def _check_tensorboard(logger: Any) -> None:
    """A TensorBoardLogger without tensorboard installed: name the extra, before anything is built."""
    items = logger if isinstance(logger, list) else [logger]
    if not any(isinstance(i, dict) and str(i.get("class_path", "")).endswith("TensorBoardLogger") for i in items):
        return
    if importlib.util.find_spec("tensorboard") is None and importlib.util.find_spec("tensorboardX") is None:
        raise ConfigError(
            "trainer.logger: TensorBoardLogger needs tensorboard, which is not installed; "
            "pip install 'geo-core[tensorboard]' (or use CSVLogger)",
            key="trainer.logger",
        )


def _check_names(node: Any, where: str) -> None:
    """Component names inside ``init_args`` (backbone, decoder, loss, factory), from metadata: no import, no torch."""
    if isinstance(node, list):
        for i, v in enumerate(node):
            _check_names(v, f"{where}.{i}")
    elif isinstance(node, dict):
        args = node.get("init_args") if "class_path" in node else None
        if isinstance(args, dict):
            _check_component_names(args, f"{where}.init_args")
        for k, v in node.items():
            _check_names(v, f"{where}.{k}")


def check(run: RunConfig) -> None:
    """Report unknown keys and unknown components (imports classes, builds nothing).

    Unknown component names are found first, from registry metadata, so such a config fails before
    torch is imported.
    """
    cfg = run.config
    for slot in ("model", "data"):
        _check_names(cfg.get(slot), slot)
    if cfg.get("trainer") is not None:
        if not isinstance(cfg["trainer"], dict):
            raise ConfigError("trainer must be a mapping of Trainer arguments", key="trainer")
        from lightning.pytorch import Trainer

        valid, _ = _params(Trainer)
        for k, v in cfg["trainer"].items():
            if k not in valid:
                raise _unknown_key(k, "trainer", valid)
            _check_node(v, f"trainer.{k}")
        _check_tensorboard(cfg["trainer"].get("logger"))
    if cfg.get("predict") is not None:
        from geo_core.inference._options import PredictOptions

        valid, _ = _params(PredictOptions)
        for k in cfg["predict"]:
            if k not in valid:
                raise _unknown_key(k, "predict", valid)
    for slot in ("model", "data"):
        if cfg.get(slot) is not None:
            _check_node(cfg[slot], slot)


# -- defaults -------------------------------------------------------------------
def checkpoint_dir(cfg: Mapping[str, Any]) -> Path:
    """The run's checkpoint folder: ``<trainer.default_root_dir>/checkpoints``."""
    return Path((cfg.get("trainer") or {}).get("default_root_dir") or "runs/run") / "checkpoints"


def find_checkpoint(cfg: Mapping[str, Any], which: str) -> Path:
    """``last``, ``best`` or a path -> an existing checkpoint file."""
    from geo_core._errors import CheckpointError

    if which in ("last", "best"):
        folder = checkpoint_dir(cfg)
        cands = (
            [folder / "last.ckpt"]
            if which == "last"
            else sorted(folder.glob("best*.ckpt"), key=lambda p: p.stat().st_mtime)
        )
        cands = [c for c in cands if c.is_file()]
        if not cands:
            raise CheckpointError(
                f"no {which!r} checkpoint in the run directory; train first or give a path", path=folder
            )
        return cands[-1]
    p = Path(which)
    if not p.is_file():
        raise CheckpointError("checkpoint file does not exist", path=p)
    return p


def nodes_of_class(items: Any, base: type) -> list[dict[str, Any]]:
    """The ``{class_path, init_args}`` nodes among ``items`` (one or a list) whose class is ``base`` or a subclass."""
    out = []
    for item in items if isinstance(items, list) else [items]:
        if not (isinstance(item, dict) and isinstance(item.get("class_path"), str)):
            continue
        try:
            _, cls = _class_of(item["class_path"], None)
        except ConfigError:  # reported by check() with its key
            continue
        if isinstance(cls, type) and issubclass(cls, base):
            out.append(item)
    return out


def with_defaults(run: RunConfig) -> RunConfig:
    """Add the run directory, logging, checkpointing, atomic checkpoint IO and the seed.

    An ``EarlyStopping`` callback given without ``monitor`` gets the task's monitor and mode.
    """
    cfg = copy.deepcopy(run.config)
    cfg.setdefault("seed_everything", 0)
    tr = cfg.get("trainer")
    if tr is None:
        tr = cfg["trainer"] = {}
    root = tr.setdefault("default_root_dir", f"runs/{run.name}")
    if tr.get("logger") is None or tr.get("logger") is True:
        loggers = [
            {"class_path": "lightning.pytorch.loggers.CSVLogger", "init_args": {"save_dir": root, "name": "logs"}}
        ]
        if importlib.util.find_spec("tensorboard") is not None:
            loggers.append(
                {
                    "class_path": "lightning.pytorch.loggers.TensorBoardLogger",
                    "init_args": {"save_dir": root, "name": "tensorboard"},
                }
            )
        tr["logger"] = loggers
    model = cfg.get("model") or {}
    monitor, mode = "val/loss", "min"
    if model.get("class_path"):
        _, cls = _class_of(model["class_path"], "model")
        monitor, mode = getattr(cls, "monitor", monitor), getattr(cls, "monitor_mode", mode)
    from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint

    callbacks = tr.get("callbacks") or []
    callbacks = callbacks if isinstance(callbacks, list) else [callbacks]
    if tr.get("enable_checkpointing", True) and not nodes_of_class(callbacks, ModelCheckpoint):
        callbacks.append(
            {
                "class_path": "lightning.pytorch.callbacks.ModelCheckpoint",
                "init_args": {
                    "dirpath": str(Path(root) / "checkpoints"),
                    "filename": "best-epoch{epoch:03d}-step{step}",
                    "auto_insert_metric_name": False,
                    "monitor": monitor,
                    "mode": mode,
                    "save_top_k": 1,
                    "save_last": True,
                },
            }
        )
    for cb in nodes_of_class(callbacks, EarlyStopping):  # without a monitor: the task's metric, like checkpoints
        args = cb.get("init_args")
        args = cb["init_args"] = dict(args) if isinstance(args, dict) else {}
        if "monitor" not in args:
            args["monitor"] = monitor
            args.setdefault("mode", mode)
    tr["callbacks"] = callbacks
    if "plugins" not in tr or tr["plugins"] is None:
        tr["plugins"] = [{"class_path": "geo_core.tasks._checkpoint_io.AtomicCheckpointIO"}]
    return RunConfig(cfg, run.name, run.base_dir)


# -- parsing and building ---------------------------------------------------------
def _parser(need_model: bool) -> Any:
    from jsonargparse import ArgumentParser
    from lightning.pytorch import LightningDataModule, LightningModule, Trainer

    from geo_core.inference._options import PredictOptions

    p = ArgumentParser(exit_on_error=False)
    p.add_argument("--seed_everything", type=int | bool, default=0)
    p.add_argument("--ckpt_path", type=str | None, default=None)
    p.add_argument("--custom_modules_path", type=str | None, default=None)
    p.add_class_arguments(Trainer, "trainer", fail_untyped=False)
    p.add_subclass_arguments(LightningModule, "model", required=need_model)
    p.add_subclass_arguments(LightningDataModule, "data", required=False)
    p.add_class_arguments(PredictOptions, "predict", instantiate=False)
    return p


_KEY_RE = re.compile(r'[Kk]ey "([^"]+)"')


def _parse(cfg: Mapping[str, Any], need_model: bool) -> tuple[Any, Any]:
    from jsonargparse import ArgumentError

    parser = _parser(need_model)
    try:
        ns = parser.parse_object(dict(cfg))
    except (ArgumentError, TypeError, ValueError) as exc:
        msg = str(exc).strip()
        parts = _KEY_RE.findall(msg)
        key = ".init_args.".join(parts) if parts else None
        lines = [ln.strip() for ln in msg.splitlines()]
        idx = max((i for i, ln in enumerate(lines) if ln.startswith(("Parser key", "Key "))), default=-1)
        detail = " ".join(lines[idx + 1 : idx + 2]) if 0 <= idx < len(lines) - 1 else msg
        if detail.startswith("Does not validate"):  # a union: keep the reasons, drop the echoed value
            detail = "\n  ".join(ln for ln in lines if ln and not ln.startswith(("Given value", "Subtypes")))
        raise ConfigError(
            f"invalid value for config key {key!r}: {detail}" if key else f"invalid config: {msg}", key=key
        ) from exc
    return parser, ns


def dump(run: RunConfig, need_model: bool = True) -> str:
    """The complete configuration (with defaults) as YAML, as ``--print-config`` shows it."""
    parser, ns = _parse(run.config, need_model)
    return str(parser.dump(ns, skip_unset=False))


def build(run: RunConfig, need_model: bool = True) -> Built:
    """Check, seed and instantiate trainer, task and datamodule."""
    check(run)
    parser, ns = _parse(run.config, need_model)
    from lightning.pytorch import seed_everything

    seed = ns.get("seed_everything")
    if seed is not False and seed is not None:
        seed_everything(int(seed), workers=True, verbose=False)
    instantiate = getattr(parser, "instantiate", None) or parser.instantiate_classes  # renamed in 4.49
    _quiet_lightning_tips()
    try:
        init = instantiate(ns)
    except (ValueError, TypeError) as exc:  # jsonargparse wraps a constructor's own error: surface geo's
        cause = _geo_cause(exc)
        if cause is None:
            raise
        raise cause from exc
    return Built(init.trainer, init.get("model"), init.get("data"), run.config)


def _drop_tip(record: Any) -> bool:
    return not str(record.getMessage()).startswith("💡 Tip")


def _quiet_lightning_tips() -> None:
    """Drop Lightning's product tips ("💡 Tip: ... litlogger") from every geo run's output; keep its real info."""
    import logging

    lg = logging.getLogger("lightning.pytorch.utilities.rank_zero")
    if _drop_tip not in lg.filters:
        lg.addFilter(_drop_tip)


def _geo_cause(exc: BaseException) -> Exception | None:
    """The first geo error in an exception's chain (what a constructor raised), if any."""
    from geo_core._errors import GeoError

    seen: set[int] = set()
    node: BaseException | None = exc
    while node is not None and id(node) not in seen:
        if isinstance(node, GeoError):
            return node
        seen.add(id(node))
        node = node.__cause__ or node.__context__
    return None
