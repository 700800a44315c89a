"""geo-core: contracts, registries, hook spec and the ``geo`` CLI.

Importing this package never imports torch; the torch-based contracts
(``Model``, ``ModelOutput``, ``Neck``, ...) load on first attribute access.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from geo_core._atomic import atomic_open, atomic_path, fsync_dir
from geo_core._custom import load_custom_modules
from geo_core._errors import (
    AmbiguousComponentError,
    CheckpointError,
    ConfigError,
    DuplicateComponentError,
    GeoError,
    InputDataError,
    MissingDependencyError,
    PluginLoadError,
    UnknownComponentError,
    UnusedArgumentError,
    WeightsError,
    WeightsOfflineError,
)
from geo_core._keys import key_report
from geo_core._lazy import lazy_getattr
from geo_core._plugins import PluginStatus, reset_plugins
from geo_core._registries import (
    BACKBONES,
    DATAMODULES,
    DECODERS,
    LOSSES,
    MODEL_FACTORIES,
    MODELS,
    NECKS,
    REGISTRIES,
    TASKS,
    set_priority,
)
from geo_core._registry import Registry
from geo_core._signature import accepted_arguments, bind_variant, constructor_parameters
from geo_core._sources import ComponentInfo, ComponentSource, DoctorCheck
from geo_core._suggest import close_matches, suggest
from geo_core._version import __version__
from geo_core.hookspecs import HOOKSPEC_VERSION, hookimpl

if TYPE_CHECKING:
    from geo_core._contracts import Model, ModelFactory, ModelOutput, Neck, freeze_module

_LAZY = {
    "Model": "geo_core._contracts",
    "ModelOutput": "geo_core._contracts",
    "ModelFactory": "geo_core._contracts",
    "Neck": "geo_core._contracts",
    "freeze_module": "geo_core._contracts",
}

__all__ = [
    "AmbiguousComponentError",
    "BACKBONES",
    "CheckpointError",
    "ComponentInfo",
    "ComponentSource",
    "ConfigError",
    "DATAMODULES",
    "DECODERS",
    "DoctorCheck",
    "DuplicateComponentError",
    "GeoError",
    "HOOKSPEC_VERSION",
    "InputDataError",
    "LOSSES",
    "MODELS",
    "MODEL_FACTORIES",
    "MissingDependencyError",
    "Model",
    "ModelFactory",
    "ModelOutput",
    "NECKS",
    "Neck",
    "PluginLoadError",
    "PluginStatus",
    "REGISTRIES",
    "Registry",
    "TASKS",
    "UnknownComponentError",
    "UnusedArgumentError",
    "WeightsError",
    "WeightsOfflineError",
    "__version__",
    "accepted_arguments",
    "atomic_open",
    "atomic_path",
    "bind_variant",
    "constructor_parameters",
    "close_matches",
    "freeze_module",
    "fsync_dir",
    "hookimpl",
    "key_report",
    "lazy_getattr",
    "load_custom_modules",
    "reset_plugins",
    "set_priority",
    "suggest",
]


__getattr__ = lazy_getattr(__name__, _LAZY)
