"""Loading the released checkpoint layout, and errors that name the keys as the file spells them."""

from __future__ import annotations

import geo_core
import pytest
import torch
from geo_plugin_clay import build_backbone


def _same(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


@pytest.mark.parametrize(("prefix", "lightning"), [("model.encoder.", True), ("", False), ("clay_encoder.", False)])
def test_released_terratorch_and_bare_layouts_load(write_checkpoint, prefix: str, lightning: bool) -> None:
    path, src = write_checkpoint(prefix=prefix, lightning=lightning)
    model = build_backbone("clay_test", ckpt_path=path)
    assert _same(model, src)
    x = torch.randn(1, 6, 16, 16)
    with torch.no_grad():
        assert torch.equal(model.eval()(x)[-1], src.eval()(x)[-1])


def test_through_the_registry_with_other_bands(write_checkpoint) -> None:
    path, src = write_checkpoint()
    model = geo_core.BACKBONES.build("clay:clay_test", ckpt_path=str(path), bands=["vv", "vh"])
    assert _same(model, src) and model.waves.tolist() == [3.5, 4.0]


def test_truncated_file_names_missing_keys_as_spelt_in_the_file(write_checkpoint) -> None:
    gone = ("transformer.layers.1.0.to_qkv.weight", "transformer.norm.bias")
    path, _ = write_checkpoint(drop=gone)
    with pytest.raises(geo_core.CheckpointError, match="missing keys") as err:
        build_backbone("clay_test", ckpt_path=path)
    msg = str(err.value)
    assert all(f"model.encoder.{k}" in msg for k in gone) and str(path) in msg
    assert "unexpected" not in msg


def test_other_variant_names_unexpected_keys_and_shapes(write_checkpoint) -> None:
    path, _ = write_checkpoint(depth=2)
    with pytest.raises(geo_core.CheckpointError, match=r"unexpected keys \('model\.encoder\.transformer\.layers\.1\."):
        build_backbone("clay_test", ckpt_path=path, depth=1)
    shape = r"model\.encoder\.cls_token: file \(1, 1, 32\) vs model \(1, 1, 192\)"
    with pytest.raises(geo_core.CheckpointError, match=shape):
        build_backbone("clay_v15_tiny", ckpt_path=path, depth=2)


def test_not_a_clay_or_not_a_torch_file(tmp_path) -> None:
    other = tmp_path / "other.pt"
    torch.save({"state_dict": {"encoder.blocks.0.attn.qkv.weight": torch.zeros(1)}}, other)
    with pytest.raises(geo_core.CheckpointError, match=r"no Clay encoder.*encoder\.blocks\.0\.attn\.qkv\.weight"):
        build_backbone("clay_test", ckpt_path=other)
    (tmp_path / "junk.ckpt").write_bytes(b"not a checkpoint")
    with pytest.raises(geo_core.CheckpointError, match="cannot read the checkpoint"):
        build_backbone("clay_test", ckpt_path=tmp_path / "junk.ckpt")
    with pytest.raises(geo_core.CheckpointError, match="does not exist"):
        build_backbone("clay_test", ckpt_path=tmp_path / "absent.ckpt")


def test_pretrained_without_released_weights_says_what_to_do() -> None:
    with pytest.raises(geo_core.CheckpointError, match=r"no released weights.*ckpt_path"):
        build_backbone("clay_v15_tiny", pretrained=True, depth=1)


def test_pretrained_fetches_the_released_file_through_the_weights_layer(tmp_path, monkeypatch) -> None:
    from geo_core.testing import WeightServer, checkpoint_bytes

    torch.manual_seed(0)
    src = build_backbone("clay_v1_base", depth=1)
    sd = {f"model.encoder.{k}": v for k, v in src.state_dict().items()}
    with WeightServer() as server:
        server.use(monkeypatch, tmp_path)
        server.add_hf_file("made-with-clay/Clay-legacy", "v1/clay-v1-base.ckpt", checkpoint_bytes({"state_dict": sd}))
        model = geo_core.BACKBONES.build("clay:clay_v1_base", pretrained=True, depth=1)
        assert _same(model, src)
        assert server.count("GET", "v1/clay-v1-base.ckpt") == 1
        # a wrong file (a damaged v1 base served as v1.5 large) names the keys as the file spells them
        sd.pop("model.encoder.transformer.layers.0.1.net.3.weight")
        server.add_hf_file("made-with-clay/Clay", "v1.5/clay-v1.5.ckpt", checkpoint_bytes({"state_dict": sd}))
        with pytest.raises(geo_core.CheckpointError) as err:
            build_backbone("clay_v15_large", pretrained=True, depth=1)
    msg = str(err.value)
    assert "1 missing key ('model.encoder.transformer.layers.0.1.net.3.weight')" in msg
    assert "model.encoder.cls_token: file (1, 1, 768) vs model (1, 1, 1024)" in msg
