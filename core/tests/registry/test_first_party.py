"""A component of a first-party plugin that is not installed names the pip line (issue 22), torch-free."""

from __future__ import annotations

import geo_core
import pytest
from geo_core import UnknownComponentError, _first_party


def _uninstall(monkeypatch, dist_name: str) -> None:
    """As if ``dist_name`` were not installed: its entry points and metadata are not found."""
    from geo_core import _plugins

    md = _plugins.md
    real_eps, real_installed = md.entry_points, _first_party._installed

    class Hidden:
        def __init__(self, eps):
            self.eps = eps

        def select(self, **kw):
            return [ep for ep in self.eps.select(**kw) if ep.dist is None or ep.dist.name != dist_name]

    def entry_points(**kw):
        return Hidden(real_eps()).select(**kw) if kw else Hidden(real_eps())

    monkeypatch.setattr(md, "entry_points", entry_points)
    monkeypatch.setattr(_first_party, "_installed", lambda dist: dist != dist_name and real_installed(dist))
    geo_core.reset_plugins()


@pytest.fixture
def without_datasets(fresh):
    _uninstall(fresh, "geo-plugin-datasets")
    return fresh


def test_the_shipped_list_names_datasets_for_its_datamodules():
    assert _first_party._table()["geo-plugin-datasets"]["datamodule"]
    assert "GenericNonGeoSegmentationDataModule" in _first_party._table()["geo-plugin-datasets"]["datamodule"]


def test_a_missing_first_party_component_names_the_pip_line(without_datasets):
    with pytest.raises(UnknownComponentError) as info:
        geo_core.DATAMODULES.resolve("GenericNonGeoSegmentationDataModule")
    msg = str(info.value)
    assert "geo-plugin-datasets, which is not installed" in msg and "pip install geo-plugin-datasets" in msg
    assert "geo list" not in msg  # listing would show nothing useful


def test_a_qualified_name_of_a_missing_plugin_names_it_too(fresh):
    _uninstall(fresh, "geo-plugin-timm")
    with pytest.raises(UnknownComponentError, match=r"pip install geo-plugin-timm"):
        geo_core.BACKBONES.resolve("timm:resnet18")


def test_an_unknown_name_nobody_ships_keeps_the_plain_message(fresh):
    with pytest.raises(UnknownComponentError) as info:
        geo_core.DATAMODULES.resolve("NoSuchDataModule")
    assert "pip install" not in str(info.value)


def test_geo_list_with_nothing_to_show_says_so_and_exits_1(without_datasets):
    from geo_core.cli._app import app
    from typer.testing import CliRunner

    res = CliRunner().invoke(app, ["list", "datamodules", "--source", "datasets"])
    assert res.exit_code == 1 and "no datamodule components installed from source 'datasets'" in res.output
    res = CliRunner().invoke(app, ["list", "backbones", "--filter", "zzzq*"])
    assert res.exit_code == 1 and "matching 'zzzq*'" in res.output
    res = CliRunner().invoke(app, ["list", "datamodules"])
    assert res.exit_code == 0  # torchgeo and zoobot datamodules are still there
