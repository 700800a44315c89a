"""Shared pieces of geo-plugin-migrate's tests (configs are written inline; nothing is downloaded)."""
