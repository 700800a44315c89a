"""DOFA and Scale-MAE token backbones (TerraTorch's names / torchgeo's modules): metadata, contract,
released checkpoint layouts with errors naming the file's keys, decoders behind the token necks, a
training step."""

from __future__ import annotations

import geo_core
import pytest
import torch
from geo_core import CheckpointError, ConfigError
from geo_core.testing import check_backbone, check_plugin_metadata

# torchgeo.models imports kornia/timm modules that emit deprecation warnings on import; Lightning 2.6 still
# calls a torch pytree API that torch 2.14 deprecates (FutureWarning inside lightning).
pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:`isinstance\\(treespec, LeafSpec\\)` is deprecated:FutureWarning"),
]

DOFA = ["dofa_test", "dofa_small_patch16_224", "dofa_base_patch16_224", "dofa_large_patch16_224"]
SCALEMAE = ["scalemae_test", "scalemae_base_patch16", "scalemae_large_patch16", "scalemae_huge_patch14"]
HLS3 = ["BLUE", "GREEN", "RED"]


def _build(name: str, **kw):
    if name.startswith("dofa"):
        kw.setdefault("model_bands", HLS3)
    return geo_core.BACKBONES.build(f"torchgeo:{name}", **kw)


def test_names_are_registered_with_metadata_and_listed_without_torch() -> None:
    found = check_plugin_metadata("torchgeo", import_components=False)
    assert {f"torchgeo:{n}" for n in DOFA + SCALEMAE} <= set(found["backbone"])
    for n in DOFA + SCALEMAE:
        meta = geo_core.BACKBONES.info(f"torchgeo:{n}").metadata
        assert meta["output"] == "tokens" and meta["prefix_tokens"] == 1 and meta["licence"]
        assert meta["out_channels"] == [meta["embed_dim"]] and meta["out_indices"] == [meta["depth"] - 1]
    w = geo_core.BACKBONES.info("torchgeo:dofa_base_patch16_224").metadata["weights"]
    assert w["hf_repo"] == "torchgeo/dofa" and w["filename"] == "dofa_base_patch16_224-a0275954.pth"
    assert geo_core.BACKBONES.info("torchgeo:scalemae_large_patch16").metadata["weights"]["sha256"] == "98ed9821"
    assert "weights" not in geo_core.BACKBONES.info("torchgeo:scalemae_huge_patch14").metadata


@pytest.mark.parametrize("name", DOFA + SCALEMAE)
def test_every_variant_builds_with_its_manifest_sizes(name: str) -> None:
    meta = geo_core.BACKBONES.info(f"torchgeo:{name}").metadata
    model = _build(name, depth=1)
    assert model.embed_dim == meta["embed_dim"] and len(model.blocks) == 1
    assert model.blocks[0].attn.num_heads == meta["num_heads"]
    assert model.output_format == "tokens" and model.out_channels == [meta["embed_dim"]]


@pytest.mark.parametrize("name", ["dofa_test", "scalemae_test"])
def test_backbone_contract(name: str) -> None:
    model = _build(name, out_indices=[0, 1])
    feats = check_backbone(model, in_channels=3, image_size=32)
    assert [f.shape for f in feats] == [(2, 1 + 4, 32)] * 2


def test_dofa_wavelengths_by_name_value_and_per_call() -> None:
    torch.manual_seed(0)
    by_name = _build("dofa_test").eval()
    assert by_name.wavelengths == [0.49, 0.56, 0.665]
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        base = by_name(x)[-1]
        assert torch.equal(base, by_name(x, wavelengths=[0.49, 0.56, 0.665])[-1])
        assert not torch.allclose(base, by_name(x, wavelengths=[0.8, 1.6, 2.2])[-1])
    assert _build("dofa_test", model_bands=None, wavelengths=[0.5, 0.6]).wavelengths == [0.5, 0.6]
    with pytest.raises(ConfigError, match=r"'NIR_NARROW'.*wavelengths=\["):
        _build("dofa_test", model_bands=["NIR_NAROW"])
    with pytest.raises(ConfigError, match="needs the input bands: model_bands"):
        _build("dofa_test", model_bands=None)
    with pytest.raises(ConfigError, match="got 4 bands but 3 wavelengths"):
        by_name(torch.zeros(1, 4, 32, 32))
    with pytest.raises(ConfigError, match="img_size=64"):
        by_name(torch.zeros(1, 3, 64, 64))


def test_scalemae_gsd_per_sample_and_default() -> None:
    torch.manual_seed(0)
    model = _build("scalemae_test", default_input_res=2.0).eval()
    x = torch.randn(2, 3, 32, 48)
    with torch.no_grad():
        default = model(x)[-1]
        assert torch.equal(default, model(x, input_res=torch.tensor([2.0, 2.0]))[-1])
        mixed = model(x, input_res=torch.tensor([2.0, 0.5]))[-1]
    assert torch.equal(mixed[0], default[0]) and not torch.allclose(mixed[1], default[1])
    with pytest.raises(ConfigError, match="divisible by the patch size 16"):
        model(torch.zeros(1, 3, 20, 32))


def _save_dofa(tmp_path, depth: int = 2, drop: tuple[str, ...] = ()):
    torch.manual_seed(1)
    src = _build("dofa_test", depth=depth)
    with torch.no_grad():
        for p in src.parameters():
            p.add_(torch.randn_like(p) * 0.02)
    sd = {k: v for k, v in src.state_dict().items() if k not in drop}
    path = tmp_path / "dofa.pth"
    torch.save(sd, path)  # the released files are flat encoder state dicts
    return path, src


def test_dofa_released_layout_loads_and_a_wrong_file_names_its_keys(tmp_path) -> None:
    path, src = _save_dofa(tmp_path)
    model = _build("dofa_test", ckpt_data=str(path))
    assert all(torch.equal(v, src.state_dict()[k]) for k, v in model.state_dict().items())
    bigger = _build("dofa_test", ckpt_path=path, img_size=64)  # position embedding resized to 4x4 patches
    assert bigger.pos_embed.shape == (1, 17, 32)
    path, _ = _save_dofa(tmp_path, drop=("blocks.1.mlp.fc2.weight",))
    with pytest.raises(CheckpointError, match=r"1 missing key \('blocks\.1\.mlp\.fc2\.weight'\)"):
        _build("dofa_test", ckpt_path=path)
    with pytest.raises(CheckpointError, match=r"unexpected keys \('blocks\.1\."):
        _build("dofa_test", ckpt_path=path, depth=1)
    (tmp_path / "cut.pth").write_bytes(path.read_bytes()[:200])
    with pytest.raises(CheckpointError, match="truncated or not a torch file"):
        _build("dofa_test", ckpt_path=tmp_path / "cut.pth")


def test_scalemae_release_with_decoder_keys_loads_and_bands_are_matched_by_name(tmp_path) -> None:
    torch.manual_seed(2)
    src = _build("scalemae_test")
    with torch.no_grad():
        for p in src.parameters():
            p.add_(torch.randn_like(p) * 0.02)
    sd = dict(src.state_dict())
    sd.update(
        {"pos_embed": torch.zeros(1, 5, 32), "decoder_embed.weight": torch.zeros(2, 2), "mask_token": torch.zeros(1)}
    )
    path = tmp_path / "scalemae.pth"
    torch.save({"model": sd}, path)
    same = _build("scalemae_test", ckpt_path=path)
    assert torch.equal(same.patch_embed.proj.weight, src.patch_embed.proj.weight)
    swapped = _build("scalemae_test", ckpt_path=path, bands=["BLUE", "NIR_NARROW", "RED"])
    w, ref = swapped.patch_embed.proj.weight, src.patch_embed.proj.weight
    assert torch.equal(w[:, 0], ref[:, 2]) and torch.equal(w[:, 2], ref[:, 0])
    assert not torch.equal(w[:, 1], ref[:, 1])  # NIR was never seen: its channel stays randomly initialised
    del sd["norm.bias"]
    torch.save({"model": {f"encoder.{k}": v for k, v in sd.items()}}, path)
    with pytest.raises(CheckpointError, match=r"1 missing key \('encoder\.norm\.bias'\)"):
        _build("scalemae_test", ckpt_path=path)


def test_pretrained_goes_through_the_weights_layer(tmp_path, monkeypatch) -> None:
    from geo_core.testing import WeightServer, checkpoint_bytes

    path, src = _save_dofa(tmp_path)
    torch.manual_seed(3)
    large = _build("scalemae_large_patch16", depth=1)
    large_sd = {k: v.clone() for k, v in large.state_dict().items()}
    with WeightServer() as server:
        server.use(monkeypatch, tmp_path)
        server.add_hf_file("org/dofa", "dofa.pth", path.read_bytes(), revision="abc")
        model = _build("dofa_test", ckpt_data="https://hf.co/org/dofa/resolve/abc/dofa.pth")
        assert torch.equal(model.blocks[0].attn.qkv.weight, src.blocks[0].attn.qkv.weight)
        w = geo_core.BACKBONES.info("torchgeo:scalemae_large_patch16").metadata["weights"]
        server.add_hf_file(w["hf_repo"], w["filename"], checkpoint_bytes(large_sd), revision=w["revision"])
        # served bytes are not the release: the manifest's SHA-256 prefix check refuses them
        with pytest.raises(geo_core.WeightsError, match="SHA-256 mismatch"):
            _build("scalemae_large_patch16", depth=1, pretrained=True)
    with pytest.raises(CheckpointError, match="no released weights"):
        _build("scalemae_test", pretrained=True)


NECKS = [
    {"name": "SelectIndices", "indices": [0, 1, 1, 1]},
    {"name": "ReshapeTokensToImage", "remove_cls_token": True},
    {"name": "LearnedInterpolateToPyramidal"},
]
DECODERS = {
    "UNetDecoder": {"channels": [16, 8, 8, 8]},
    "UperNetDecoder": {"channels": 16},
    "FCNDecoder": {"channels": 16},
    "ASPPSegmentationHead": {"channels": 16},
    "smp:Unet": {"decoder_channels": [16, 8, 8, 8, 8]},
}


@pytest.mark.parametrize("backbone", ["dofa_test", "scalemae_test"])
@pytest.mark.parametrize("decoder", sorted(DECODERS))
def test_composes_with_decoders_behind_the_token_necks(backbone: str, decoder: str) -> None:
    if decoder.startswith("smp:") and decoder not in geo_core.DECODERS:
        pytest.skip("geo-plugin-smp is not installed")
    kw = {"backbone_model_bands": HLS3} if backbone.startswith("dofa") else {}
    factory = geo_core.MODEL_FACTORIES.build("EncoderDecoderFactory")
    model = factory.build_model(
        "segmentation",
        backbone=f"torchgeo:{backbone}",
        backbone_out_indices=[0, 1],
        necks=[dict(n) for n in NECKS],
        decoder=decoder,
        decoder_kwargs=DECODERS[decoder],
        num_classes=3,
        **kw,
    )
    out = model(torch.randn(2, 3, 32, 32)).output
    assert out.shape == (2, 3, 32, 32)
    out.mean().backward()
    assert model.encoder.blocks[0].attn.qkv.weight.grad is not None


@pytest.mark.parametrize("backbone", ["dofa_test", "scalemae_test"])
def test_one_training_step_through_the_segmentation_task(backbone: str) -> None:
    from geo_core.tasks import SemanticSegmentationTask
    from geo_core.testing import check_task

    args = {
        "backbone": f"torchgeo:{backbone}",
        "backbone_out_indices": [0, 1],
        "necks": [dict(n) for n in NECKS],
        "decoder": "FCNDecoder",
        "decoder_channels": 16,
        "num_classes": 2,
    }
    if backbone.startswith("dofa"):
        args["backbone_model_bands"] = HLS3
    task = SemanticSegmentationTask(model_factory="EncoderDecoderFactory", model_args=args, loss="ce", lr=1e-3)
    before = task.model.encoder.cls_token.detach().clone()
    trainer = check_task(task, bands=3, size=32)  # one fit step (and a validation batch)
    assert trainer.global_step == 1 and not torch.equal(before, task.model.encoder.cls_token)
