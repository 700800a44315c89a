"""torchgeo whole-model weights (U-Nets) in MODELS, used through FullModelFactory."""

from __future__ import annotations

import geo_core
import pytest
import torch

# torchgeo.models imports kornia/timm modules that emit deprecation warnings on import.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

NAME = "Unet_Weights.SENTINEL2_2CLASS_FTW"


def test_unet_weights_load_and_train_a_new_head(tmp_path) -> None:
    import torchgeo.models as tgm

    meta = geo_core.MODELS.info(f"torchgeo:{NAME}").metadata
    assert meta["in_chans"] == 8 and meta["encoder"] == "efficientnet-b3" and meta["num_classes"] == 2
    torch.manual_seed(0)
    src = tgm.unet(weights=None, encoder_name="efficientnet-b3", encoder_weights=None, in_channels=8, classes=2)
    torch.save(src.state_dict(), tmp_path / meta["file"])
    factory = geo_core.MODEL_FACTORIES.build("FullModelFactory")

    same = factory.build_model("segmentation", model=f"torchgeo:{NAME}", weights_dir=tmp_path)
    key = "segmentation_head.0.weight"
    assert torch.equal(same.model.state_dict()[key], src.state_dict()[key])

    model = factory.build_model("segmentation", model=f"torchgeo:{NAME}", weights_dir=tmp_path, num_classes=4)
    enc = next(k for k in src.state_dict() if k.startswith("encoder."))
    assert torch.equal(model.model.state_dict()[enc], src.state_dict()[enc])
    model.freeze_encoder()
    with torch.no_grad():
        out = model.eval()(torch.randn(1, 8, 64, 64)).output
    assert out.shape == (1, 4, 64, 64)
