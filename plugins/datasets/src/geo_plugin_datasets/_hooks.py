"""Hook implementations of geo-plugin-datasets (torch- and rasterio-free at import)."""

from __future__ import annotations

from typing import Any

from geo_core import DoctorCheck, hookimpl

__all__ = ["GEO_HOOKSPEC_VERSION", "geo_cli_commands", "geo_doctor"]

GEO_HOOKSPEC_VERSION = 1


@hookimpl
def geo_cli_commands(app: Any) -> None:
    """Add ``geo stats`` (also under TerraTorch's verb ``compute_statistics``)."""
    from geo_plugin_datasets._cli import stats_cmd

    app.command("stats")(stats_cmd)
    app.command("compute_statistics", hidden=True, help="TerraTorch's name of `geo stats`.")(stats_cmd)


@hookimpl
def geo_doctor() -> list[DoctorCheck]:
    """Check that GDAL can read the raster formats the datamodules use."""
    try:
        import rasterio.drivers  # noqa: F401
        from rasterio.env import Env

        with Env() as env:
            drivers = env.drivers()
    except Exception as exc:
        return [DoctorCheck("datasets: rasterio", ok=False, detail=f"cannot import rasterio: {exc}")]
    want = ["GTiff", "PNG", "JPEG"]
    missing = [d for d in want if d not in drivers]
    return [
        DoctorCheck(
            "datasets: GDAL drivers",
            ok=not missing,
            detail=f"missing {missing}" if missing else f"{', '.join(want)} available",
        )
    ]
