"""The one did-you-mean helper and the one signature inspector (``geo_core`` public helpers)."""

from __future__ import annotations

import geo_core


def _family(variant: str, depth: int = 2, *, width: int = 8) -> tuple[str, int, int]:
    """A family builder: the first parameter takes the variant."""
    return variant, depth, width


def test_close_matches_prefers_a_case_insensitive_equal() -> None:
    assert geo_core.close_matches("red", ["RED", "GREEN", "REDEDGE"])[0] == "RED"
    assert geo_core.suggest("Unetdecoder", ["UNetDecoder", "FCNDecoder"]) == "UNetDecoder"
    assert geo_core.suggest("zzz", ["UNetDecoder"]) is None


def test_bind_variant_forwards_and_shows_the_family_signature() -> None:
    tiny = geo_core.bind_variant(_family, "tiny", doc="Tiny.")
    assert tiny(depth=3) == ("tiny", 3, 8)
    assert tiny.__name__ == "tiny" and tiny.__doc__ == "Tiny."
    assert geo_core.accepted_arguments(tiny) == (["depth", "width"], False)
    named = geo_core.bind_variant(_family, "tiny", name="tiny_mae")
    assert named.__name__ == "tiny_mae"
