"""Check that a plugin's declared metadata is consistent and listable without torch.

Use in a plugin's tests::

    from geo_core.testing import check_plugin_metadata

    def test_metadata():
        check_plugin_metadata("mine")
"""

from __future__ import annotations

import json
import subprocess
import sys

__all__ = ["check_plugin_metadata", "DYNAMIC_SAMPLE"]

#: How many names of a dynamic catalogue (hook-provided, e.g. every timm model) are checked one by one.
DYNAMIC_SAMPLE = 25

_LIST_SCRIPT = """
import json, os, sys
import geo_core.cli
from geo_core._plugins import plugin_index, reset_plugins
plugin = sys.argv[1]
os.environ["GEO_DISABLE_PLUGINS"] = plugin  # the baseline: `geo plugins list` without this plugin
plugin_index()
before = {m.partition(".")[0] for m in sys.modules}
del os.environ["GEO_DISABLE_PLUGINS"]
reset_plugins()
from geo_core._registries import REGISTRIES
from geo_core.testing._metadata import _to_check
found = {}
for kind, reg in REGISTRIES.items():
    names = reg.names(source=plugin)
    for n in _to_check(kind, plugin, names):
        reg.info(n)
    found[kind] = names
new = {m.partition(".")[0] for m in sys.modules} - before
print(json.dumps({"found": found, "new": sorted(new)}))
"""


def _allowed(top_level: str) -> bool:
    """A package listing may import: the standard library and geo's own packages."""
    return top_level in sys.stdlib_module_names or top_level.startswith("geo_")


def _to_check(kind: str, plugin: str, names: list[str]) -> list[str]:
    """Every entry-point component, plus an even sample of a dynamic catalogue's names."""
    from geo_core._plugins import plugin_index

    static = {f"{e.source}:{e.name}" for e in plugin_index().entries[kind] if e.source == plugin}
    dynamic = [n for n in names if n not in static]
    step = max(1, len(dynamic) // DYNAMIC_SAMPLE)
    return [n for n in names if n in static] + dynamic[::step][:DYNAMIC_SAMPLE]


def check_plugin_metadata(plugin_name: str, *, import_components: bool = True) -> dict[str, list[str]]:
    """Check a plugin's manifest, entry points and torch-free listing.

    Asserts that: the plugin is discovered and not broken; its
    ``geo-plugin.toml`` parses and ``[plugin] name`` matches; every component
    table in the manifest names a registered component; every component of
    the plugin resolves, has ``info()``, and (with ``import_components``)
    imports through the registry (for dynamic catalogues, an even sample of
    :data:`DYNAMIC_SAMPLE` names); and, in a fresh subprocess, listing and
    ``info()`` of the plugin's components import no third-party package beyond what
    ``geo --help`` itself loads (so no torch, no wrapped library).

    Args:
        plugin_name: The plugin's source name (its ``geo.manifests`` entry point).
        import_components: Also import every component's builder.

    Returns:
        Component ids by registry kind.
    """
    from geo_core._plugins import plugin_index
    from geo_core._registries import REGISTRIES

    idx = plugin_index()
    rec = idx.plugins.get(plugin_name)
    assert rec is not None, f"plugin {plugin_name!r} is not installed; known: {sorted(idx.plugins)}"
    assert rec.status == "ok", f"plugin {plugin_name!r} is {rec.status}: {rec.reason}"
    assert rec.manifest_path, f"plugin {plugin_name!r} has no geo-plugin.toml (declare a geo.manifests entry point)"
    declared = rec.manifest.get("plugin", {}).get("name")
    assert declared in (None, plugin_name), f"geo-plugin.toml says name={declared!r}, entry point is {plugin_name!r}"
    found: dict[str, list[str]] = {}
    for kind, reg in REGISTRIES.items():
        names = reg.names(source=plugin_name)
        found[kind] = names
        for qid in _to_check(kind, plugin_name, names):
            assert reg.resolve(qid) == qid, f"{qid} does not resolve to itself"
            info = reg.info(qid)
            assert info.source == plugin_name
            if info.metadata.get("weights"):  # a [<kind>.<name>.weights] table must be a valid WeightRef
                from geo_core.weights import WeightRef

                WeightRef.from_mapping(info.metadata["weights"])
            if import_components:
                builder = reg.get(qid)
                assert callable(builder), f"{kind} {qid} target {info.target} is not callable"
        for name in rec.manifest.get(kind, {}):
            assert f"{plugin_name}:{name}" in reg, (
                f"geo-plugin.toml has a [{kind}.{name}] table but no {kind} {plugin_name}:{name} is registered"
            )
    proc = subprocess.run(
        [sys.executable, "-c", _LIST_SCRIPT, plugin_name],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, f"listing plugin {plugin_name!r} failed:\n{proc.stderr[-2000:]}"
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    heavy = [m for m in result["new"] if not _allowed(m)]
    assert not heavy, (
        f"listing plugin {plugin_name!r} imported {heavy}; keep manifests, hook modules and "
        "package __init__ files free of third-party imports (import them inside the builders)"
    )
    return found
