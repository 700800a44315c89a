"""Published schemas and schema validation."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from geo_core import ConfigError
from geo_plugin_zoobot import schemas


def test_published_schemas_have_the_documented_layout() -> None:
    gz2 = schemas.gz2_ortho_schema
    assert len(gz2.questions) == 10 and len(gz2.label_cols) == 30
    assert gz2.label_cols[:3] == [
        "smooth-or-featured-gz2_smooth",
        "smooth-or-featured-gz2_featured-or-disk",
        "smooth-or-featured-gz2_artifact",
    ]
    dr5 = schemas.decals_dr5_ortho_schema
    assert len(dr5.label_cols) == 34
    assert dr5.question_index_groups[:3] == [(0, 2), (3, 4), (5, 6)]
    assert dr5.get_question("bar-dr5").asked_after.text == "disk-edge-on-dr5_no"
    assert dr5.get_answer("has-spiral-arms-dr5_yes").next_question is not None
    dr8 = schemas.decals_dr8_ortho_schema
    assert [c.replace("-dr8", "-dr5") for c in dr8.label_cols] == dr5.label_cols
    all_c = schemas.decals_all_campaigns_ortho_schema
    assert len(all_c.questions) == 30 and all_c.get_question("merging-dr12").asked_after is None
    assert schemas.gz_rings_schema.label_cols == ["ring_yes", "ring_no"]
    assert schemas.desi_schema.label_cols[0] == "smooth-or-featured_smooth"


def test_question_index_groups_cover_all_answers_contiguously() -> None:
    for name, schema in schemas.PUBLISHED_SCHEMAS.items():
        flat = [i for a, b in schema.question_index_groups for i in range(a, b + 1)]
        assert flat == list(range(len(schema.label_cols))), name


def test_get_schema_by_name_mapping_and_object() -> None:
    assert schemas.get_schema("gz2_ortho_schema") is schemas.gz2_ortho_schema
    assert schemas.get_schema("gz2_ortho") is schemas.gz2_ortho_schema
    assert schemas.get_schema(schemas.gz_rings_schema.to_dict()) == schemas.gz_rings_schema
    with pytest.raises(ConfigError, match="published schemas"):
        schemas.get_schema("gz3")


def test_joint_p_multiplies_along_the_tree() -> None:
    s = schemas.Schema({"a": ["_x", "_y"], "b": ["_u", "_v"]}, {"a": None, "b": "a_y"})
    p = np.array([[0.25, 0.75, 0.5, 0.5]])
    assert np.allclose(s.joint_p(p, "b_u"), [0.375])
    assert np.allclose(s.joint_p(p, "a_x"), [0.25])


@pytest.mark.parametrize(
    ("pairs", "deps", "match"),
    [
        ({"a": ["_x", "_y"]}, {}, "no entry for question"),
        ({"a": ["_x", "_y"]}, {"a": None, "z": None}, "unknown question"),
        ({"a": ["_x", "_y"], "b": ["_u"]}, {"a": None, "b": "a_nope"}, "unknown answer"),
        ({"a": ["_x", "_y"]}, {"a": "a_x"}, "its own answer"),
        ({"a": ["_x"], "b": ["_u"]}, {"a": "b_u", "b": "a_x"}, "cycle"),
        ({"a": ["_x", "_x"]}, {"a": None}, "duplicate label columns"),
        ({"a": []}, {"a": None}, "no answers"),
        ({}, {}, "at least one question"),
    ],
)
def test_schema_validation(pairs: dict, deps: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        schemas.Schema(pairs, deps)


def test_unknown_answer_lookup_names_the_answers() -> None:
    with pytest.raises(KeyError, match="ring_yes"):
        schemas.gz_rings_schema.get_answer("ring_maybe")


def test_package_schemas_and_hooks_import_without_torch() -> None:
    code = (
        "import sys, geo_plugin_zoobot, geo_plugin_zoobot.schemas, geo_plugin_zoobot._hooks, "
        "geo_plugin_zoobot._cli; bad = [m for m in ('torch', 'lightning', 'timm', 'rasterio', 'pandas') "
        "if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
