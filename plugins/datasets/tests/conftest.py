"""Shared fixtures of geo-plugin-datasets's tests (geo_core.testing ships fakes and synthetic rasters)."""
