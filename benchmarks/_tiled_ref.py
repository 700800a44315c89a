"""Load TerraTorch's ``tiled_inference`` module file from a checkout outside this repository.

Used by the prediction benchmarks (``predict_stream.py``, ``engines.py``) to run TerraTorch's own
tiled inference side by side with geo's streaming predictor. Only ``terratorch/tasks/tiled_inference.py``
and the ``terratorch/models/utils.py`` it imports are loaded, with TerraTorch's package imports
stubbed; nothing of TerraTorch is copied here.
"""

from __future__ import annotations

import importlib.util
import sys
import types
from typing import Any

DEFAULT_REF = "/work/ref/terratorch"


def load_tiled_inference(ref: str = DEFAULT_REF) -> Any:
    """The ``terratorch.tasks.tiled_inference`` module of the checkout at ``ref``."""
    for name in ("terratorch", "terratorch.models", "terratorch.registry", "terratorch.tasks"):
        sys.modules.setdefault(name, types.ModuleType(name))
    sys.modules["terratorch.registry"].BACKBONE_REGISTRY = None  # type: ignore[attr-defined]

    def load(name: str, rel: str) -> Any:
        spec = importlib.util.spec_from_file_location(name, f"{ref}/terratorch/{rel}")
        if spec is None or spec.loader is None:
            raise SystemExit(f"TerraTorch file not found: {ref}/terratorch/{rel}; pass --terratorch <checkout>")
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        spec.loader.exec_module(mod)
        return mod

    load("terratorch.models.utils", "models/utils.py")
    return load("terratorch.tasks.tiled_inference", "tasks/tiled_inference.py")


def terratorch_predict(ti: Any, forward: Any, src: str, dst: str, batch_size: int = 16) -> None:
    """TerraTorch's way: read the scene whole, ``tiled_inference`` (its defaults), argmax, write a GeoTIFF.

    ``ti`` is the module :func:`load_tiled_inference` returns (loaded before the clock starts).
    """
    import rasterio
    import torch

    with rasterio.open(src) as s:
        x = torch.from_numpy(s.read().astype("float32"))[None]
        profile = s.profile
    with torch.inference_mode():
        logits = ti.tiled_inference(forward, x, crop=224, stride=192, batch_size=batch_size)
    pred = logits.argmax(1).to(torch.uint8).numpy()
    profile.update(count=1, dtype="uint8", nodata=None, compress=None)
    with rasterio.open(dst, "w", **profile) as d:
        d.write(pred)
