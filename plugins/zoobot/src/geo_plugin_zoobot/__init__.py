"""geo-plugin-zoobot: Zoobot-style catalog fine-tuning on geo's core.

The layout follows Zoobot 2.x, so scripts port by changing the import:

* :mod:`geo_plugin_zoobot.finetune` — ``FinetuneableZoobotClassifier``, ``FinetuneableZoobotRegressor``,
  ``FinetuneableZoobotTree`` and ``get_trainer``;
* :mod:`geo_plugin_zoobot.predict_on_catalog` — ``predict(catalog, model, save_loc, label_cols, ...)``;
* :mod:`geo_plugin_zoobot.schemas` — question/answer schemas (GZ2, DECaLS DR1/2, DR5, DR8, ...).

Importing this package never imports torch: the names below load on first access.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from geo_plugin_zoobot._base import FinetuneableZoobotAbstract
    from geo_plugin_zoobot._classifier import FinetuneableZoobotClassifier
    from geo_plugin_zoobot._datamodule import CatalogDataModule
    from geo_plugin_zoobot._losses import DirichletMultinomialLoss
    from geo_plugin_zoobot._regressor import FinetuneableZoobotRegressor
    from geo_plugin_zoobot._trainer import get_trainer
    from geo_plugin_zoobot._tree import FinetuneableZoobotTree
    from geo_plugin_zoobot.predict_on_catalog import predict
    from geo_plugin_zoobot.schemas import Schema

_LAZY = {
    "FinetuneableZoobotAbstract": "geo_plugin_zoobot._base",
    "FinetuneableZoobotClassifier": "geo_plugin_zoobot._classifier",
    "FinetuneableZoobotRegressor": "geo_plugin_zoobot._regressor",
    "FinetuneableZoobotTree": "geo_plugin_zoobot._tree",
    "get_trainer": "geo_plugin_zoobot._trainer",
    "CatalogDataModule": "geo_plugin_zoobot._datamodule",
    "DirichletMultinomialLoss": "geo_plugin_zoobot._losses",
    "predict": "geo_plugin_zoobot.predict_on_catalog",
    "Schema": "geo_plugin_zoobot.schemas",
    "ZoobotDeprecationWarning": "geo_plugin_zoobot._aliases",
}

__version__ = "0.1.0"

__all__ = [
    "FinetuneableZoobotAbstract",
    "FinetuneableZoobotClassifier",
    "FinetuneableZoobotRegressor",
    "FinetuneableZoobotTree",
    "get_trainer",
    "CatalogDataModule",
    "DirichletMultinomialLoss",
    "predict",
    "Schema",
    "ZoobotDeprecationWarning",
    "__version__",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'geo_plugin_zoobot' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
