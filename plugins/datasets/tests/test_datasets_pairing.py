from pathlib import Path

import pytest
from geo_core import InputDataError
from geo_plugin_datasets._pairing import apply_split, find_files, grep_key, pair_by_key


def _touch(folder: Path, *names: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for n in names:
        (folder / n).write_bytes(b"x")


def test_grep_key() -> None:
    assert grep_key("*_img.tif", "a_b_img.tif") == "a_b"
    assert grep_key("*_img.tif", "a_mask.tif") is None
    assert grep_key("*", "scene.tif") == "scene"
    assert grep_key("**/*_x.tif", "sub/dir/t1_x.tif") == "t1"


def test_pairs_by_stem_not_by_index(tmp_path: Path) -> None:
    # sorted order differs between the two sides: pairing by index would mismatch them
    _touch(tmp_path / "img", "b_img.tif", "a_img.tif", "c_img.tif")
    _touch(tmp_path / "lbl", "c_mask.tif", "a_mask.tif", "b_mask.tif")
    pairs = pair_by_key(find_files(tmp_path / "img", "*_img.tif"), find_files(tmp_path / "lbl", "*_mask.tif"))
    assert [(k, i.name, m.name) for k, i, m in pairs] == [
        ("a", "a_img.tif", "a_mask.tif"),
        ("b", "b_img.tif", "b_mask.tif"),
        ("c", "c_img.tif", "c_mask.tif"),
    ]


def test_unpaired_files_are_listed(tmp_path: Path) -> None:
    _touch(tmp_path / "img", "a_img.tif", "b_img.tif", "x_img.tif")
    _touch(tmp_path / "lbl", "a_mask.tif", "b_mask.tif", "y_mask.tif")
    with pytest.raises(InputDataError) as err:
        pair_by_key(
            find_files(tmp_path / "img", "*_img.tif"),
            find_files(tmp_path / "lbl", "*_mask.tif"),
            "*_img.tif",
            "*_mask.tif",
        )
    msg = str(err.value)
    assert "x_img.tif" in msg and "y_mask.tif" in msg and "a_img.tif" not in msg


def test_missing_folder_and_no_match(tmp_path: Path) -> None:
    with pytest.raises(InputDataError, match="does not exist"):
        find_files(tmp_path / "nope", "*")
    _touch(tmp_path / "d", "a.png")
    with pytest.raises(InputDataError, match=r"no image file matches '\*.tif'"):
        find_files(tmp_path / "d", "*.tif")


def test_split_file(tmp_path: Path) -> None:
    split = tmp_path / "train.txt"
    split.write_text("a.tif\n# comment\nc\n")
    assert apply_split(["a", "b", "c"], split) == ["a", "c"]
    split.write_text("a\nzzz\n")
    with pytest.raises(InputDataError, match="zzz"):
        apply_split(["a", "b"], split)
    split.write_text("tile\n")
    assert apply_split(["tile1", "tile2", "x"], split) == ["tile1", "tile2"]
    with pytest.raises(InputDataError):
        apply_split(["tile1"], split, allow_substring=False)
