"""torchgeo's non-geo datamodules as ``torchgeo:<ClassName>`` (``root=``, ``download=False``)."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from geo_core import ConfigError

from geo_plugin_torchgeo._index import load_index

__all__ = ["build_datamodule"]


def build_datamodule(name: str, root: str | Path, *, download: bool = False, **kwargs: Any) -> Any:
    """Build the torchgeo datamodule ``name`` over data already under ``root``.

    Only the datamodule's own module is imported (``torchgeo.datamodules.eurosat``
    for ``EuroSATDataModule``). Batches are torchgeo's dicts (``image``, ``mask``
    or ``label``), which are the keys geo tasks read.

    Args:
        name: Class name, e.g. ``EuroSATDataModule``.
        root: Folder holding the dataset in torchgeo's layout.
        download: Let torchgeo download the data (off by default: geo never downloads
            unless asked).
        **kwargs: ``batch_size``, ``num_workers`` and the dataset's arguments (``bands``, ...).

    Example:
        >>> import geo_core
        >>> dm = geo_core.DATAMODULES.build("torchgeo:EuroSATDataModule", root="data/eurosat",
        ...                                 batch_size=8)  # doctest: +SKIP
    """
    entry = load_index()["datamodules"].get(name)
    if entry is None:
        raise ConfigError(f"unknown torchgeo datamodule {name!r}; see `geo list datamodules --source torchgeo`")
    module_name, _, cls_name = entry["target"].partition(":")
    cls = getattr(importlib.import_module(module_name), cls_name)
    return cls(root=str(root), download=download, **kwargs)
