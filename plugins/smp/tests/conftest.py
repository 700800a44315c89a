"""Shared fixtures of geo-plugin-smp's tests (geo_core.testing ships fakes and synthetic rasters)."""
