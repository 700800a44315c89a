"""Model composition: factories, the models they build, heads, padding, PEFT and checkpoints.

Importing this package is cheap; torch loads when a member is first used.
Necks live in :mod:`geo_core.models.necks`, decoders in :mod:`geo_core.models.decoders`.
"""

from __future__ import annotations

from geo_core._lazy import lazy_getattr

_LAZY: dict[str, str] = {
    "EncoderDecoderFactory": "geo_core.models._encoder_decoder",
    "FullModelFactory": "geo_core.models._full",
    "FullModel": "geo_core.models._full",
    "as_model": "geo_core.models._full",
    "PixelWiseModel": "geo_core.models._models",
    "ScalarOutputModel": "geo_core.models._models",
    "DecoderWithHead": "geo_core.models._models",
    "SegmentationHead": "geo_core.models._heads",
    "RegressionHead": "geo_core.models._heads",
    "ClassificationHead": "geo_core.models._heads",
    "TemporalWrapper": "geo_core.models._temporal",
    "apply_peft": "geo_core.models._peft",
    "save_state_dict": "geo_core.models._state",
    "load_state_dict": "geo_core.models._state",
    "input_multiple": "geo_core.models._padding",
    "suggest": "geo_core._suggest",
    "accepted_arguments": "geo_core._signature",
    "check_arguments": "geo_core.models._routing",
    "check_call": "geo_core.models._routing",
    "unexpected_argument_error": "geo_core.models._routing",
}

__all__ = sorted(_LAZY)


__getattr__ = lazy_getattr(__name__, _LAZY)
