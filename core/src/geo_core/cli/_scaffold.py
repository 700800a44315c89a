"""``geo plugins new``: scaffold a ready-to-install plugin distribution."""

from __future__ import annotations

import keyword
import re
from pathlib import Path
from typing import Literal

__all__ = ["scaffold_plugin", "ScaffoldKind"]

ScaffoldKind = Literal["backbone", "decoder", "datamodule", "task"]
_GROUPS = {"backbone": "geo.backbones", "decoder": "geo.decoders", "datamodule": "geo.datamodules", "task": "geo.tasks"}

_PYPROJECT = """[build-system]
requires = ["setuptools>=77"]
build-backend = "setuptools.build_meta"

[project]
name = "{dist}"
version = "0.1.0"
description = "A geo plugin providing the {kind} {component}."
readme = "README.md"
requires-python = ">=3.11"
dependencies = ["geo-core>={core_version},<{core_next}"]

[project.optional-dependencies]
test = ["pytest>=8"]

[project.entry-points."geo.manifests"]
{name} = "{pkg}"

[project.entry-points."{group}"]
{component} = "{pkg}._{module}:{component}"

[tool.setuptools.packages.find]
where = ["src"]

[tool.setuptools.package-data]
{pkg} = ["py.typed", "geo-plugin.toml"]
"""

_MANIFEST = """# Metadata geo reads without importing the plugin (`geo info {kind} {name}:{component}`).
[plugin]
name = "{name}"
summary = "A geo plugin providing the {kind} {component}."
install = "pip install {dist}"

[{kind}.{component}]
summary = "{summary}"
{extra}"""

_README = """# {dist}

A [geo](https://pypi.org/project/geo-core/) plugin providing the {kind} `{name}:{component}`.

```bash
pip install -e .
geo plugins list           # shows "{name}"
geo info {kind} {name}:{component}
pytest tests
```
"""

_COMPONENTS: dict[str, tuple[str, str, str, str]] = {
    # kind -> (module name, summary, extra manifest lines, source)
    "backbone": (
        "backbone",
        "Two-stage CNN backbone.",
        "out_channels = [16, 32]\n",
        '''"""The {component} backbone."""

from __future__ import annotations

import torch
from torch import nn


class {component}(nn.Module):
    """A two-stage CNN: returns feature maps at strides 2 and 4.

    Args:
        in_channels: Input bands.
    """

    def __init__(self, in_channels: int = 6) -> None:
        super().__init__()
        self.stage1 = nn.Sequential(nn.Conv2d(in_channels, 16, 3, stride=2, padding=1), nn.ReLU())
        self.stage2 = nn.Sequential(nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.ReLU())
        self.out_channels = [16, 32]

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Return one feature map per stage."""
        a = self.stage1(x)
        return [a, self.stage2(a)]
''',
    ),
    "decoder": (
        "decoder",
        "Upsampling convolutional decoder.",
        "includes_head = false\n",
        '''"""The {component} decoder."""

from __future__ import annotations

import torch
from torch import nn


class {component}(nn.Module):
    """Fuses the last feature map with a 3x3 convolution.

    Args:
        channel_list: Channels of the incoming feature maps.
        channels: Output channels.
    """

    includes_head = False

    def __init__(self, channel_list: list[int], channels: int = 32) -> None:
        super().__init__()
        self.conv = nn.Sequential(nn.Conv2d(channel_list[-1], channels, 3, padding=1), nn.ReLU())
        self.out_channels = channels

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        """Decode the last feature map."""
        return self.conv(features[-1])
''',
    ),
    "datamodule": (
        "datamodule",
        "Random in-memory segmentation data.",
        "",
        '''"""The {component} datamodule."""

from __future__ import annotations

from typing import Any

import lightning as L
import torch
from torch.utils.data import DataLoader, Dataset


class _RandomSegmentation(Dataset[dict[str, Any]]):
    def __init__(self, n: int, bands: int, size: int, num_classes: int) -> None:
        g = torch.Generator().manual_seed(0)
        self.images = torch.rand(n, bands, size, size, generator=g)
        self.masks = (self.images[:, 0] * num_classes).long().clamp(max=num_classes - 1)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> dict[str, Any]:
        return {{"image": self.images[i], "mask": self.masks[i], "filename": f"sample{{i}}"}}


class {component}(L.LightningDataModule):
    """Random images whose mask follows band 0, for smoke tests.

    Args:
        batch_size: Samples per batch.
        bands: Image bands.
        size: Image side in pixels.
        num_classes: Mask classes.
    """

    def __init__(self, batch_size: int = 2, bands: int = 6, size: int = 32, num_classes: int = 2) -> None:
        super().__init__()
        self.batch_size, self.bands, self.size, self.num_classes = batch_size, bands, size, num_classes

    def _loader(self, n: int) -> DataLoader[dict[str, Any]]:
        return DataLoader(_RandomSegmentation(n, self.bands, self.size, self.num_classes), batch_size=self.batch_size)

    def train_dataloader(self) -> DataLoader[dict[str, Any]]:
        """Training batches."""
        return self._loader(8)

    def val_dataloader(self) -> DataLoader[dict[str, Any]]:
        """Validation batches."""
        return self._loader(4)
''',
    ),
    "task": (
        "task",
        "Segmentation task with a custom loss weighting.",
        "",
        '''"""The {component} task."""

from __future__ import annotations

from typing import Any

from geo_core.tasks import SemanticSegmentationTask


class {component}(SemanticSegmentationTask):
    """Semantic segmentation with the core defaults; override methods to customise."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
''',
    ),
}

_TESTS = {
    "backbone": """    from geo_core.testing import check_backbone

    backbone = geo_core.BACKBONES.build("{name}:{component}", in_channels=6)
    check_backbone(backbone, in_channels=6, image_size=(32, 32))
""",
    "decoder": """    from geo_core.testing import check_decoder

    check_decoder("{name}:{component}", backbones=("cnn",), image_size=(32, 32))
""",
    "datamodule": """    dm = geo_core.DATAMODULES.build("{name}:{component}", batch_size=2)
    batch = next(iter(dm.train_dataloader()))
    assert batch["image"].shape == (2, 6, 32, 32)
""",
    "task": """    task = geo_core.TASKS.build(
        "{name}:{component}",
        model_factory="EncoderDecoderFactory",
        model_args={{"backbone": "tiny_cnn", "decoder": "UNetDecoder", "num_classes": 2}},
    )
    assert task is not None
""",
}

_TEST_FILE = '''"""Conformance tests of the {name} plugin, reusing geo_core.testing."""

import geo_core


def test_{ident}_metadata():
    from geo_core.testing import check_plugin_metadata

    check_plugin_metadata("{name}")


def test_{ident}_{kind}_conforms():
{body}'''


def _identifier(name: str) -> str:
    pkg = re.sub(r"[^0-9a-zA-Z]+", "_", name).strip("_").lower()
    if not pkg or pkg[0].isdigit() or keyword.iskeyword(pkg):
        raise ValueError(f"plugin name {name!r} does not make a valid Python identifier; use letters, digits, '-'")
    return pkg


def scaffold_plugin(name: str, kind: ScaffoldKind, dest: Path, component: str | None = None) -> Path:
    """Write a plugin distribution ``geo-plugin-<name>`` under ``dest`` and return its folder.

    Raises:
        ValueError: Bad name or kind.
        FileExistsError: The target folder already exists (nothing is overwritten).
    """
    from geo_core._version import __version__

    if kind not in _COMPONENTS:
        raise ValueError(f"unknown kind {kind!r}; expected one of {sorted(_COMPONENTS)}")
    ident = _identifier(name)
    source = ident.replace("_", "-")
    dist, pkg = f"geo-plugin-{source}", f"geo_plugin_{ident}"
    component = component or "".join(p.capitalize() for p in ident.split("_")) + kind.capitalize()
    if not component.isidentifier():
        raise ValueError(f"component name {component!r} is not a Python identifier")
    root = Path(dest) / dist
    if root.exists():
        raise FileExistsError(f"{root} already exists; choose another name or folder")
    module, summary, extra, source_code = _COMPONENTS[kind]
    major, minor, *_ = __version__.split(".")
    fmt = {
        "ident": ident,
        "dist": dist,
        "pkg": pkg,
        "name": source,
        "kind": kind,
        "component": component,
        "module": module,
        "group": _GROUPS[kind],
        "summary": summary,
        "extra": extra,
        "core_version": f"{major}.{minor}",
        "core_next": f"{major}.{int(minor) + 1}",
    }
    files = {
        root / "pyproject.toml": _PYPROJECT.format(**fmt),
        root / "README.md": _README.format(**fmt),
        root / "src" / pkg / "__init__.py": f'"""{dist}: a geo plugin (kept torch-free: geo imports it to list)."""\n',
        root / "src" / pkg / "py.typed": "",
        root / "src" / pkg / "geo-plugin.toml": _MANIFEST.format(**fmt),
        root / "src" / pkg / f"_{module}.py": source_code.format(**fmt),
        root / "tests" / f"test_{ident}.py": _TEST_FILE.format(body=_TESTS[kind].format(**fmt), **fmt),
    }
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root
