"""Listing: every smp encoder, decoder, the factory and the losses, without importing smp or torch."""

import json
import subprocess
import sys

import geo_core
import pytest
from geo_core._plugins import plugin_index

DECODERS = [
    "Unet",
    "UnetPlusPlus",
    "MAnet",
    "Linknet",
    "FPN",
    "PSPNet",
    "PAN",
    "DeepLabV3",
    "DeepLabV3Plus",
    "UPerNet",
    "Segformer",
    "DPT",
]


def test_every_smp_encoder_is_a_backbone() -> None:
    import segmentation_models_pytorch as smp

    listed = geo_core.BACKBONES.names(source="smp")
    assert listed == sorted(f"smp:{n}" for n in smp.encoders.get_encoder_names())


def test_shipped_index_matches_installed_smp() -> None:
    from geo_plugin_smp import _smp_compat as compat
    from geo_plugin_smp._index import load_index

    index = load_index()
    # Regenerate with `python -m geo_plugin_smp._index` when smp changes.
    assert index["encoders"] == json.loads(json.dumps(compat.encoder_catalogue()))
    assert index["smp_version"] == compat.SMP_VERSION


def test_backbone_metadata_without_import() -> None:
    meta = geo_core.BACKBONES.info("smp:mit_b0").metadata
    assert meta["out_channels"] == [32, 64, 160, 256]
    assert meta["strides"] == [4, 8, 16, 32]
    assert geo_core.BACKBONES.info("smp:resnet18").metadata["out_channels"] == [64, 64, 128, 256, 512]
    assert "deprecated" in geo_core.BACKBONES.info("smp:timm-skresnet18").metadata


def test_tu_encoders_are_accepted_not_listed() -> None:
    assert "smp:tu-resnet18" in geo_core.BACKBONES
    assert "smp:tu-resnet18" not in geo_core.BACKBONES.names(source="smp")
    info = geo_core.BACKBONES.info("smp:tu-resnet18")
    assert info.metadata["open_ended"] is True
    assert "timm" in info.metadata["summary"]


def test_decoders_factory_and_losses_are_listed() -> None:
    assert geo_core.DECODERS.names(source="smp") == sorted(f"smp:{d}" for d in DECODERS)
    for d in DECODERS:
        assert geo_core.DECODERS.info(f"smp:{d}").metadata["includes_head"] is False
    assert "smp:SMPModelFactory" in geo_core.MODEL_FACTORIES
    assert geo_core.LOSSES.names(source="smp") == [
        f"smp:{n}" for n in sorted(["dice", "jaccard", "focal", "lovasz", "tversky"])
    ]


def test_listing_imports_neither_torch_nor_smp() -> None:
    code = (
        "import sys, geo_core\n"
        "assert len(geo_core.BACKBONES.names(source='smp')) > 70\n"
        "geo_core.BACKBONES.info('smp:resnet18'); geo_core.BACKBONES.info('smp:tu-convnext_tiny')\n"
        "geo_core.DECODERS.names(source='smp'); geo_core.DECODERS.info('smp:Unet')\n"
        "import geo_plugin_smp, geo_plugin_smp._hooks\n"
        "bad = [m for m in ('torch', 'segmentation_models_pytorch', 'timm') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_plugin_is_healthy_and_doctor_passes() -> None:
    rec = plugin_index().plugins["smp"]
    assert rec.status == "ok", rec.reason
    from geo_plugin_smp import _hooks

    checks = _hooks.geo_doctor()
    assert all(c.ok for c in checks), checks


def test_public_surface() -> None:
    import geo_plugin_smp

    for name in geo_plugin_smp.__all__:
        assert getattr(geo_plugin_smp, name) is not None
    with pytest.raises(AttributeError):
        geo_plugin_smp.nope  # noqa: B018


def test_plugin_metadata_conformance() -> None:
    import geo_core.testing

    check = getattr(geo_core.testing, "check_plugin_metadata", None)
    if check is None:  # pragma: no cover - geo_core.testing without the metadata check
        pytest.skip("geo_core.testing.check_plugin_metadata is not available")
    found = check("smp")
    assert len(found["backbone"]) == len(geo_core.BACKBONES.names(source="smp"))
    assert len(found["decoder"]) == 12 and len(found["loss"]) == 5
