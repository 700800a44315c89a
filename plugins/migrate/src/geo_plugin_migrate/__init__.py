"""Convert TerraTorch configs to geo configs (``geo migrate terratorch``).

Every key of the input is converted, carried over unchanged (geo takes it as is), or
reported as not mapped with its path and a suggestion (and left out of the result).
Component names are checked against the registries, so names geo registers under
TerraTorch's spelling pass through unchanged.
"""

from __future__ import annotations

from geo_plugin_migrate._model import TASK_NAMES
from geo_plugin_migrate._report import MigrationReport
from geo_plugin_migrate._top import migrate_terratorch

__all__ = ["MigrationReport", "migrate_terratorch", "TASK_NAMES"]
