"""Shared fixtures of geo-plugin-mmearth's tests (geo_core.testing ships fakes and synthetic rasters)."""
