"""Shared fixtures of geo-plugin-timm's tests (geo_core.testing ships fakes and synthetic rasters)."""
