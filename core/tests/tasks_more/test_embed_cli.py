"""`geo embed` runs the example config end to end and resumes."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from geo_core.cli._app import app
from typer.testing import CliRunner

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "embeddings.yaml"


def test_geo_embed_example_config(tmp_path):
    pytest.importorskip("geo_plugin_datasets")
    from geo_core.testing import make_segmentation_folder

    img_dir, _ = make_segmentation_folder(tmp_path / "data", n=5)
    cfg = yaml.safe_load(EXAMPLE.read_text())
    cfg["data"]["init_args"]["predict_data_root"] = str(img_dir)
    cfg["model"]["init_args"]["output_dir"] = str(tmp_path / "emb")
    cfg["trainer"]["accelerator"] = "cpu"
    path = tmp_path / "embed.yaml"
    path.write_text(yaml.safe_dump(cfg))
    res = CliRunner().invoke(app, ["embed", "-c", str(path), "trainer.enable_progress_bar=false"])
    assert res.exit_code == 0, res.output
    assert "embeddings written: 5, skipped (already complete): 0" in res.output
    assert len(list((tmp_path / "emb").glob("*_embedding.parquet"))) == 5
    res = CliRunner().invoke(app, ["embed", "-c", str(path), "trainer.enable_progress_bar=false"])
    assert "embeddings written: 0, skipped (already complete): 5" in res.output


def test_geo_embed_rejects_other_tasks(tmp_path):
    cfg = {
        "model": {
            "class_path": "SemanticSegmentationTask",
            "init_args": {
                "model_factory": "EncoderDecoderFactory",
                "model_args": {"backbone": "tiny_cnn", "decoder": "UNetDecoder", "num_classes": 2},
            },
        }
    }
    path = tmp_path / "seg.yaml"
    path.write_text(yaml.safe_dump(cfg))
    res = CliRunner().invoke(app, ["embed", "-c", str(path)])
    assert res.exit_code == 2
    assert "EmbeddingGenerationTask" in res.output
