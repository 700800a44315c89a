"""STAC in (local and http COG assets chosen by band name) and STAC out (validated offline with pystac)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import numpy as np
import pytest
import rasterio
import torch
from geo_core.data import ScenePreprocessing
from geo_core.inference import PredictOptions, predict_paths, predict_scene
from geo_core.testing import write_geotiff

pystac = pytest.importorskip("pystac")
pytest.importorskip("jsonschema")

NAMES = ["BLUE", "RED", "NIR_NARROW"]  # TerraTorch's names; the items use STAC common names


def _item(iid: str, nir_res: float = 10.0) -> dict:
    def asset(href, **bands):
        return {
            "href": href,
            "type": "image/tiff; application=geotiff; profile=cloud-optimized",
            "roles": ["data"],
            **bands,
        }

    return {
        "type": "Feature",
        "stac_version": "1.1.0",
        "id": iid,
        "stac_extensions": [],
        "geometry": {
            "type": "Polygon",
            "coordinates": [[[-87.0, 37.9], [-86.9, 37.9], [-86.9, 38.0], [-87.0, 38.0], [-87.0, 37.9]]],
        },
        "bbox": [-87.0, 37.9, -86.9, 38.0],
        "properties": {"datetime": "2024-06-01T10:00:00Z"},
        "links": [],
        "assets": {
            "B02": asset(f"{iid}/B02.tif", **{"eo:bands": [{"name": "B02", "common_name": "blue"}]}),
            "B04": asset(f"{iid}/B04.tif", bands=[{"name": "B04", "eo:common_name": "red"}]),
            "nir08": asset(f"{iid}/B8A.tif", **{"raster:bands": [{"data_type": "float32"}]}),
            "thumbnail": {"href": f"{iid}/thumb.png", "type": "image/png", "roles": ["thumbnail"]},
        },
    }


@pytest.fixture(scope="module")
def stac(tmp_path_factory):
    root = tmp_path_factory.mktemp("stac")
    stacks = {}
    for n, (iid, nir_res) in enumerate([("itemA", 10.0), ("itemB", 20.0)]):
        rng = np.random.default_rng(n)
        bands = rng.random((3, 96, 80), dtype=np.float32)
        for k, name in enumerate(["B02", "B04"]):
            write_geotiff(root / iid / f"{name}.tif", bands[k], resolution=10.0, tiled=True, compress="deflate")
        step = int(nir_res // 10)
        write_geotiff(
            root / iid / "B8A.tif", bands[2][::step, ::step], resolution=nir_res, tiled=True, compress="deflate"
        )
        stacks[iid] = write_geotiff(root / f"{iid}_stack.tif", bands, resolution=10.0)
    coll = {"type": "FeatureCollection", "features": [_item("itemB", 20.0), _item("itemA")]}
    (root / "items.json").write_text(json.dumps(coll))
    torch.manual_seed(0)
    from geo_core.tasks import SemanticSegmentationTask

    task = SemanticSegmentationTask(
        model_factory="EncoderDecoderFactory",
        model_args={"backbone": "tiny_cnn", "backbone_in_channels": 3, "decoder": "UNetDecoder", "num_classes": 3},
    ).eval()
    return root, stacks, task


OPTS = PredictOptions(crop=64, stride=48, output_kind="probabilities")
PRE = ScenePreprocessing(band_names=NAMES, means=[0.5] * 3, stds=[0.3] * 3)


def test_local_item_collection_predicts_by_band_name_and_writes_a_valid_catalog(stac, tmp_path):
    from pystac.extensions.projection import ProjectionExtension
    from pystac.validation import validate_dict

    root, stacks, task = stac
    out = tmp_path / "preds"
    written = predict_paths(task, root / "items.json", out, PRE, OPTS)
    assert [p.name for p in written] == ["itemA_pred.tif", "itemB_pred.tif"]
    # the same pixels as the bands stacked by hand into one GeoTIFF
    ref = predict_scene(task, stacks["itemA"], tmp_path / "ref.tif", PRE, OPTS)
    with rasterio.open(ref) as a, rasterio.open(out / "itemA_pred.tif") as b:
        assert (a.crs, a.transform, a.shape) == (b.crs, b.transform, b.shape)
        np.testing.assert_array_equal(a.read(), b.read())
    with rasterio.open(out / "itemB_pred.tif") as b:  # its 20 m band is resampled onto the 10 m grid
        assert b.shape == (96, 80) and b.res == (10.0, 10.0)
    # STAC out: validates against the STAC 1.1 core schemas pystac ships (offline); projection read back
    cat = json.loads((out / "catalog.json").read_text())
    validate_dict(cat, extensions=[])
    for iid in ("itemA", "itemB"):
        d = json.loads((out / f"{iid}_pred.json").read_text())
        validate_dict(d, extensions=[])
        assert {"derived_from"} <= {link["rel"] for link in d["links"]}
        assert d["assets"]["prediction"]["roles"] == ["data"]
        assert d["properties"]["datetime"] == "2024-06-01T10:00:00Z"
    items = list(pystac.read_file(str(out / "catalog.json")).get_items(recursive=True))
    assert sorted(i.id for i in items) == ["itemA", "itemB"]
    proj = ProjectionExtension.ext(items[0])
    assert proj.code == "EPSG:32616" and proj.shape == [96, 80] and proj.transform[0] == 10.0
    assert items[0].assets["prediction"].get_absolute_href() == str(out / "itemA_pred.tif")
    # a single item to a single file
    (tmp_path / "one.json").write_text(
        json.dumps(
            {
                **_item("itemA"),
                "assets": {k: {**a, "href": str(root / a["href"])} for k, a in _item("itemA")["assets"].items()},
            }
        )
    )
    (one,) = predict_paths(task, tmp_path / "one.json", tmp_path / "one_pred.tif", PRE, OPTS)
    with rasterio.open(one) as a, rasterio.open(out / "itemA_pred.tif") as b:
        np.testing.assert_array_equal(a.read(), b.read())
    validate_dict(json.loads((tmp_path / "one_pred.json").read_text()), extensions=[])


class _RangeHandler(SimpleHTTPRequestHandler):
    """Static files with single-range GETs (what GDAL's /vsicurl/ sends); records each request."""

    requests: ClassVar[list[tuple[str, str, str | None]]] = []

    def log_message(self, *args):
        pass

    def send_head(self):
        rng = self.headers.get("Range")
        _RangeHandler.requests.append((self.command, self.path, rng))
        m = re.match(r"bytes=(\d+)-(\d*)$", rng or "")
        path = self.translate_path(self.path)
        if m is None or not os.path.isfile(path):
            return super().send_head()
        with open(path, "rb") as fh:
            data = fh.read()
        start, end = int(m[1]), min(int(m[2] or len(data) - 1), len(data) - 1)
        self.send_response(206)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
        self.send_header("Content-Length", str(end - start + 1))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        import io

        return io.BytesIO(data[start : end + 1])


@contextlib.contextmanager
def _serve(folder):
    handler = lambda *a, **k: _RangeHandler(*a, directory=str(folder), **k)  # noqa: E731
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_items_and_cogs_over_http_are_read_by_range_and_match_local(stac, tmp_path, monkeypatch):
    root, _, task = stac
    for k in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("GDAL_DISABLE_READDIR_ON_OPEN", "EMPTY_DIR")
    local = predict_paths(task, root / "items.json", tmp_path / "local", PRE, OPTS)
    _RangeHandler.requests.clear()
    with _serve(root) as url:
        remote = predict_paths(task, f"{url}/items.json", tmp_path / "remote", PRE, OPTS)
    for a, b in zip(local, remote, strict=True):
        with rasterio.open(a) as x, rasterio.open(b) as y:
            np.testing.assert_array_equal(x.read(), y.read())
    tif_gets = [(p, r) for m, p, r in _RangeHandler.requests if m == "GET" and p.endswith(".tif")]
    assert tif_gets and all(r is not None for _, r in tif_gets)  # windows by range, never the whole file
    d = json.loads((tmp_path / "remote" / "itemA_pred.json").read_text())
    assert next(lk["href"] for lk in d["links"] if lk["rel"] == "derived_from") == f"{url}/items.json"


def test_a_band_the_item_lacks_fails_that_scene_naming_the_closest(stac, tmp_path):
    from geo_core import InputDataError

    root, _, task = stac
    pre = ScenePreprocessing(band_names=["BLUE", "RED", "SWIR_1"])
    with pytest.raises(InputDataError, match="2 scene"):
        predict_paths(task, root / "items.json", tmp_path / "o", pre, OPTS)
    rec = json.loads((tmp_path / "o" / ".geo-ledger" / "itemA.json").read_text())
    assert rec["state"] == "failed" and "no asset band named 'SWIR_1'" in rec["error"]


def test_embeddings_of_stac_items_carry_the_item_id(stac, tmp_path):
    import pyarrow.parquet as pq
    from geo_core.inference._embed_scenes import embed_scenes
    from geo_core.tasks import EmbeddingGenerationTask

    root, _, _ = stac
    task = EmbeddingGenerationTask(backbone="tiny_cnn", backbone_args={"in_channels": 3}, output_format="parquet")
    counts = embed_scenes(task, root / "items.json", tmp_path / "emb", PRE)
    assert counts == {"written": 2, "skipped": 0, "failed": 0}
    table = pq.read_table(tmp_path / "emb" / "itemB_embedding.parquet")
    assert table.column("item_id").to_pylist() == ["itemB"] and table.column("filename").to_pylist()[0].endswith(
        "items.json"
    )
