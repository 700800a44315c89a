"""Explicit loading of user modules (TerraTorch's ``custom_modules/`` folder)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from geo_core._errors import ConfigError

__all__ = ["load_custom_modules"]

_LOADED: dict[str, str] = {}


def load_custom_modules(path: str | Path) -> list[str]:
    """Import every Python module in ``path`` (a file, a package, or a folder of modules).

    Modules register their components with ``@geo_core.BACKBONES.register`` and
    friends. Nothing is imported from the working directory unless named here
    (``--custom-modules PATH`` or the ``custom_modules_path`` config key).

    Returns:
        The names under which the modules were imported.

    Raises:
        ConfigError: ``path`` does not exist or holds no Python module.
    """
    p = Path(path).expanduser().resolve()
    if not p.exists():
        raise ConfigError(f"custom_modules_path {str(path)!r} does not exist", key="custom_modules_path")
    if p.is_file():
        files = [p]
    elif (p / "__init__.py").is_file():
        files = [p / "__init__.py"]
    else:
        files = sorted(f for f in p.glob("*.py") if not f.name.startswith("_"))
        files += sorted(d / "__init__.py" for d in p.iterdir() if (d / "__init__.py").is_file())
    if not files:
        raise ConfigError(f"custom_modules_path {str(path)!r} contains no Python module", key="custom_modules_path")
    names = []
    if "geo_custom_modules" not in sys.modules:  # a parent package, so dotted class paths into them work
        import types

        parent = types.ModuleType("geo_custom_modules")
        parent.__path__ = []
        sys.modules["geo_custom_modules"] = parent
    for f in files:
        key = str(f)
        if key in _LOADED:
            names.append(_LOADED[key])
            continue
        stem = f.parent.name if f.name == "__init__.py" else f.stem
        mod_name = f"geo_custom_modules.{stem}"
        spec = importlib.util.spec_from_file_location(
            mod_name, f, submodule_search_locations=[str(f.parent)] if f.name == "__init__.py" else None
        )
        if spec is None or spec.loader is None:  # pragma: no cover - only for odd file types
            raise ConfigError(f"cannot import custom module {key!r}", key="custom_modules_path")
        module = importlib.util.module_from_spec(spec)
        sys.modules[mod_name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            sys.modules.pop(mod_name, None)
            raise
        _LOADED[key] = mod_name
        setattr(sys.modules["geo_custom_modules"], mod_name.rpartition(".")[2], module)
        names.append(mod_name)
    return names
