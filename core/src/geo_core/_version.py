"""The single version of every geo distribution."""

__version__ = "0.1.0"
