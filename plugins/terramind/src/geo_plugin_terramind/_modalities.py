"""The pre-trained TerraMind modalities: names users type, checkpoint layer keys, bands (no torch import).

Users name a modality as TerraTorch does (``S2L2A``, ``S2L1C``, ``S1GRD``, ``S1RTC``, ``DEM``,
``RGB``, ``NDVI``, ``LULC``, any case, also ``sen2l2a`` style or the checkpoint key itself).
Each maps to the key of its patch embedding in the released checkpoints
(``encoder_embeddings.<key>.*``).

Raw modalities (``kind = "image"``) take ``(B, C, H, W)`` pixels. ``NDVI`` and ``LULC`` were
pre-trained as *tokenized* modalities: they take ``(B, H/16, W/16)`` integer token ids from
TerraMind's tokenizers, which this plugin does not ship.
"""

from __future__ import annotations

from dataclasses import dataclass

from geo_core import ConfigError

__all__ = ["MODALITIES", "Modality", "canonical_modality"]


@dataclass(frozen=True)
class Modality:
    """One pre-trained modality.

    Attributes:
        name: The name users type (TerraTorch's).
        key: Its layer key in the checkpoints (``encoder_embeddings.<key>``).
        kind: ``image`` (pixels, a linear patch projection) or ``tokens`` (tokenizer ids, an embedding table).
        channels: Pre-trained band count (image modalities; the band names and normalisation are in
            the manifest, ``[backbone.<variant>.bands]``, ``.mean``, ``.std``).
        vocab_size: Token vocabulary (token modalities).
    """

    name: str
    key: str
    kind: str
    channels: int = 0
    vocab_size: int = 0


MODALITIES: dict[str, Modality] = {
    m.name: m
    for m in (
        Modality("S2L2A", "untok_sen2l2a@224", "image", channels=12),
        Modality("S2L1C", "untok_sen2l1c@224", "image", channels=13),
        Modality("S1GRD", "untok_sen1grd@224", "image", channels=2),
        Modality("S1RTC", "untok_sen1rtc@224", "image", channels=2),
        Modality("DEM", "untok_dem@224", "image", channels=1),
        Modality("RGB", "untok_sen2rgb@224", "image", channels=3),
        Modality("NDVI", "tok_ndvi@224", "tokens", vocab_size=15360),
        Modality("LULC", "tok_lulc@224", "tokens", vocab_size=4375),
    )
}

_BY_KEY = {m.key: m for m in MODALITIES.values()}


def canonical_modality(name: str) -> Modality:
    """Return the pre-trained modality ``name`` refers to.

    Accepts TerraTorch's spellings: ``S2L2A``/``s2l2a``/``sen2l2a``/``untok_sen2l2a@224``, ``S1GRD``...

    Raises:
        ConfigError: Not a pre-trained modality; the message lists them and how to add a new one.
    """
    if name in _BY_KEY:
        return _BY_KEY[name]
    low = name.lower().replace("sen2", "s2").replace("sen1", "s1").replace("_", "").replace("-", "")
    for m in MODALITIES.values():
        if m.name.lower() in low:
            return m
    raise ConfigError(
        f"unknown TerraMind modality {name!r}; the pre-trained ones are {list(MODALITIES)}. "
        f"A new modality is given as a mapping {{name: number_of_channels}}, e.g. modalities=['S2L2A', "
        f"{{'{name}': 3}}] (its patch embedding then starts from random weights)",
        key="modalities",
    )
