from __future__ import annotations

import pytest
from geo_core import BACKBONES, ConfigError, load_custom_modules


def test_custom_modules_folder_registers_components(fresh, tmp_path):
    folder = tmp_path / "custom_modules"
    folder.mkdir()
    (folder / "my_backbones.py").write_text(
        "import geo_core\n"
        "@geo_core.BACKBONES.register(name='custom_net_for_test')\n"
        "def build(**kw):\n"
        "    return 'custom'\n"
    )
    try:
        names = load_custom_modules(folder)
        assert names == ["geo_custom_modules.my_backbones"]
        assert BACKBONES.build("custom_net_for_test") == "custom"
        assert load_custom_modules(folder) == names  # idempotent
    finally:
        BACKBONES.unregister("custom_net_for_test")


def test_custom_modules_missing_path(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_custom_modules(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="contains no Python module"):
        load_custom_modules(tmp_path / "empty")
