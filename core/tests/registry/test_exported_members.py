"""geo_core's __all__ is exactly its public surface, and every name in it resolves."""

from __future__ import annotations

import types

import geo_core


def test_all_names_resolve():
    for name in geo_core.__all__:
        assert getattr(geo_core, name) is not None, name


def test_all_is_the_public_surface():
    public = {
        n for n in dir(geo_core) if not n.startswith("_") and not isinstance(getattr(geo_core, n), types.ModuleType)
    }
    public.discard("annotations")  # from __future__ import annotations
    public.discard("TYPE_CHECKING")
    assert public == set(geo_core.__all__) - {"__version__"}
