"""TerraTorch's Satlas / SSL4EO names: registry, manifest, TerraTorch feature semantics, weights, decoders, training."""

from __future__ import annotations

import json
from pathlib import Path

import geo_core
import pytest
import torch
from geo_core import CheckpointError, ConfigError
from geo_core.testing import check_backbone, check_key_report, check_task

# torchgeo.models imports kornia/timm modules that emit deprecation warnings on import; Lightning 2.6 calls
# a torch pytree API that torch 2.14 deprecates (FutureWarning inside lightning).
pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:`isinstance\\(treespec, LeafSpec\\)` is deprecated:FutureWarning"),
]

TINY = ["test_satlas_swin", "test_ssl4eo_resnet", "test_ssl4eo_vit"]
RGB = ["RED", "GREEN", "BLUE"]
#: out_indices giving each tiny variant a four-level pyramid, and the necks the ViT needs.
PYRAMID = {"test_satlas_swin": [1, 3, 5, 7], "test_ssl4eo_resnet": [1, 2, 3, 4], "test_ssl4eo_vit": [1, 2, 3, 5]}
NECKS = {"test_ssl4eo_vit": [{"name": "LearnedInterpolateToPyramidal"}]}


def _names() -> dict[str, tuple[str, str]]:
    from geo_plugin_torchgeo._satlas import SATLAS
    from geo_plugin_torchgeo._ssl4eo import SSL4EO

    return {**SATLAS, **SSL4EO}


def _widths(arch: str, layout: str) -> list[int]:
    """TerraTorch's default features: the last Swin layer / ResNet level, every ViT-S block."""
    last = {"swin_v2_t": 768, "swin_v2_b": 1024, "resnet18": 512, "resnet50": 2048, "resnet152": 2048}
    return [384] * 12 if layout == "vit" else [last[arch]]


def test_every_terratorch_name_is_listed_with_its_weights_metadata() -> None:
    from geo_plugin_torchgeo._index import load_index, weight_ref

    names = _names()
    assert len(names) == 22 + 42  # TerraTorch 85467a9f: 14 Satlas Swin + 8 Satlas ResNet; 31 ResNet + 11 ViT
    listed = set(geo_core.BACKBONES.names(source="torchgeo"))
    index = load_index()["weights"]
    for name, (weights, layout) in names.items():
        assert f"torchgeo:{name}" in listed
        meta = geo_core.BACKBONES.info(name).metadata
        entry = index[weights]
        assert meta["torchgeo_weights"] == weights and meta["layout"] == layout
        assert meta.get("bands") == entry.get("bands") and meta["in_chans"] == entry["in_chans"]
        assert meta["weights"] == weight_ref(entry).to_mapping()  # the enum's own file, fetched the same way
        assert meta["licence"] and meta["out_channels"] == _widths(meta["architecture"], layout)
    assert {"test_satlas_swin", "test_ssl4eo_resnet", "test_ssl4eo_vit"} <= {n.split(":")[1] for n in listed}


def test_swin_feature_list_counts_torchvision_layers_channels_first() -> None:
    bb = geo_core.BACKBONES.build("test_satlas_swin", in_chans=4, out_indices=list(range(8))).eval()
    assert bb.out_channels == [16, 16, 32, 32, 64, 64, 128, 128]
    x = torch.randn(2, 4, 64, 64)
    with torch.no_grad():
        feats = bb(x)
        y, ref = x, []
        for layer in bb.body:  # torchvision's features, channels-last
            y = layer(y)
            ref.append(y.permute(0, 3, 1, 2))
    assert all(torch.equal(a, b) for a, b in zip(feats, ref, strict=True))
    last = geo_core.BACKBONES.build("test_satlas_swin", in_chans=4, out_indices=[-1])
    assert last.out_channels == [128] and last.stage_positions == [7]
    with pytest.raises(ConfigError, match=r"outside the 8 features"):
        geo_core.BACKBONES.build("test_satlas_swin", in_chans=4, out_indices=[8])


def test_resnet_and_vit_defaults_follow_terratorch() -> None:
    res = geo_core.BACKBONES.build("test_ssl4eo_resnet", in_chans=3)
    assert res.out_channels == [96]  # the last of stem + 4 stages
    vit = geo_core.BACKBONES.build("test_ssl4eo_vit", model_bands=RGB)
    assert vit.out_channels == [64] * 6 and vit.bands == RGB  # every block
    with pytest.raises(ConfigError, match="without weights"):
        geo_core.BACKBONES.build("test_ssl4eo_vit", pretrained=True)


@pytest.mark.parametrize("name", TINY)
def test_tiny_variants_meet_the_backbone_contract(name: str) -> None:
    bb = geo_core.BACKBONES.build(name, model_bands=["B4", "B3", "B2", "B8"], out_indices=PYRAMID[name])
    feats = check_backbone(bb, in_channels=4, image_size=(64, 48))
    assert len(feats) == 4


def _released(tmp_path: Path, name: str) -> tuple[Path, dict[str, torch.Tensor]]:
    """Random weights in the released torchgeo layout for ``name`` (torchgeo's own architecture)."""
    import torchgeo.models as tgm

    meta = geo_core.BACKBONES.info(name).metadata
    torch.manual_seed(0)
    model = getattr(tgm, meta["architecture"])(weights=None, in_chans=meta["in_chans"])
    state = {k: v + 0.01 * torch.randn_like(v) if v.is_floating_point() else v for k, v in model.state_dict().items()}
    path = tmp_path / meta["weights"]["url"].rsplit("/", 1)[1]  # torchgeo's file name
    torch.save(state, path)
    return path, state


def test_released_layout_loads_by_ckpt_data_and_by_weights_dir(tmp_path: Path) -> None:
    name = "ssl4eol_resnet18_landsat_tm_toa_moco"
    path, state = _released(tmp_path, name)
    bands = geo_core.BACKBONES.info(name).metadata["bands"]
    a = geo_core.BACKBONES.build(name, model_bands=bands, ckpt_data=str(path), out_indices=[0, 4])
    b = geo_core.BACKBONES.build(name, model_bands=bands, pretrained=True, weights_dir=tmp_path)
    assert a.out_channels == [64, 512] and b.out_channels == geo_core.BACKBONES.info(name).metadata["out_channels"]
    with torch.no_grad():
        assert [f.shape[1] for f in b.eval()(torch.randn(1, len(bands), 64, 64))] == b.out_channels
    assert torch.equal(a.body.conv1.weight, state["conv1.weight"]) and torch.equal(
        b.body.conv1.weight, state["conv1.weight"]
    )
    # HLS names select the matching input channels (TM: BLUE=B1, GREEN=B2, RED=B3)
    rgb = geo_core.BACKBONES.build(name, model_bands=["RED", "GREEN", "BLUE"], ckpt_data=str(path))
    assert torch.equal(rgb.body.conv1.weight, state["conv1.weight"][:, [2, 1, 0]])
    with pytest.raises(CheckpointError, match=r"resnet18_landsat_tm_toa_moco-1c691b4f\.pth"):
        geo_core.BACKBONES.build(name, model_bands=bands, pretrained=True, weights_dir=tmp_path / "empty")


def test_wrong_or_truncated_files_name_the_keys(tmp_path: Path) -> None:
    name = "ssl4eol_resnet18_landsat_tm_toa_moco"
    path, state = _released(tmp_path, name)
    bands = geo_core.BACKBONES.info(name).metadata["bands"]
    check_key_report(
        lambda p: geo_core.BACKBONES.build(name, model_bands=bands, ckpt_data=p),
        state,
        tmp_path,
        drop="layer2.0.conv1.weight",
        extra="layer9.weird.weight",
    )
    (tmp_path / "cut.pth").write_bytes(path.read_bytes()[:5000])
    with pytest.raises(CheckpointError, match=r"cut\.pth"):
        geo_core.BACKBONES.build(name, model_bands=bands, ckpt_data=tmp_path / "cut.pth")
    with pytest.raises(ConfigError, match="disagree"):
        geo_core.BACKBONES.build(name, model_bands=bands, bands=["B1"])


# Small widths keep the matrix fast: every core decoder over each tiny variant, one smp decoder each.
DECODERS = {
    "UNetDecoder": {"channels": [32, 16, 16, 8]},
    "UperNetDecoder": {"channels": 16},
    "FCNDecoder": {"channels": 16, "num_convs": 2},
    "ASPPSegmentationHead": {"channels": 16, "dilations": [1, 2]},
    "smp:Unet": {"decoder_channels": [16, 8, 8, 8, 8]},
    "smp:FPN": {"pyramid_channels": 16, "segmentation_channels": 32},  # GroupNorm(32)
    "smp:UPerNet": {"decoder_channels": 16},
}
CORE = ["UNetDecoder", "UperNetDecoder", "FCNDecoder", "ASPPSegmentationHead"]
PAIRS = [(n, d) for n in TINY for d in CORE] + list(zip(TINY, ["smp:Unet", "smp:FPN", "smp:UPerNet"], strict=True))


@pytest.mark.parametrize(("name", "decoder"), PAIRS)
def test_tiny_variants_compose_with_core_and_smp_decoders(name: str, decoder: str) -> None:
    factory = geo_core.MODEL_FACTORIES.build("EncoderDecoderFactory")
    model = factory.build_model(
        "segmentation",
        backbone=f"torchgeo:{name}",
        backbone_model_bands=RGB,
        backbone_out_indices=PYRAMID[name],
        decoder=decoder,
        decoder_kwargs=DECODERS[decoder],
        necks=NECKS.get(name),
        num_classes=3,
    )
    out = model(torch.randn(2, 3, 64, 64)).output
    assert out.shape == (2, 3, 64, 64)
    out.mean().backward()
    assert any(p.grad is not None for p in model.encoder.parameters())


@pytest.mark.parametrize("name", TINY)
def test_one_training_step_through_the_segmentation_task(name: str) -> None:
    from geo_core.tasks import SemanticSegmentationTask

    task = SemanticSegmentationTask(
        model_factory="EncoderDecoderFactory",
        model_args={
            "backbone": f"torchgeo:{name}",
            "backbone_in_chans": 6,
            "backbone_out_indices": PYRAMID[name],
            "necks": NECKS.get(name),
            "decoder": "UperNetDecoder",
            "decoder_channels": 16,
            "num_classes": 2,
        },
        loss="ce",
        lr=1e-3,
    )
    before = {k: v.clone() for k, v in task.model.encoder.state_dict().items()}
    check_task(task)  # one fit step (and a validation batch) on 6-band 32x32 tiles
    after = task.model.encoder.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before if before[k].is_floating_point())


def test_manifest_lists_without_torch() -> None:
    import subprocess
    import sys

    code = (
        "import json, sys, geo_core; n = [x for x in geo_core.BACKBONES.names(source='torchgeo') "
        "if x.split(':')[1].startswith(('satlas_', 'ssl4eo', 'seco_', 'fmow_'))]; geo_core.BACKBONES.info(n[0]); "
        "print(json.dumps([len(n), 'torch' in sys.modules]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert json.loads(out.strip().splitlines()[-1]) == [22 + 42, False]


def test_terratorch_hf_addresses_come_through_the_weights_layer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from geo_core.testing import WeightServer

    name = "ssl4eol_resnet18_landsat_tm_toa_moco"
    path, state = _released(tmp_path, name)
    meta = geo_core.BACKBONES.info(name).metadata
    with WeightServer() as server:
        server.use(monkeypatch, tmp_path / "cache")
        # TerraTorch's hf.co address in ckpt_data goes to the (fake) Hugging Face endpoint
        server.add_hf_file("org/ssl4eo", "w.pth", path.read_bytes())
        bb = geo_core.BACKBONES.build(
            name, model_bands=meta["bands"], ckpt_data="https://hf.co/org/ssl4eo/resolve/main/w.pth"
        )
        assert torch.equal(bb.body.conv1.weight, state["conv1.weight"])
        assert server.count("GET", "/org/ssl4eo/resolve/main/w.pth") == 1


def test_weights_without_band_names_take_model_bands_in_order() -> None:
    # torchgeo records no bands for fMoW GASSL: TerraTorch configs still pass model_bands
    bb = geo_core.BACKBONES.build("fmow_resnet50_fmow_rgb_gassl", model_bands=RGB)
    assert bb.bands == RGB and bb.out_channels == [2048]
    with pytest.raises(ConfigError, match="take 3 bands"):
        geo_core.BACKBONES.build(
            "fmow_resnet50_fmow_rgb_gassl", model_bands=["RED", "GREEN"], pretrained=True, weights_dir="/nonexistent"
        )
