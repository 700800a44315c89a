"""Bad run configs at `geo train|validate|test|predict`: exit 2, one short screen naming the problem,
no traceback and nothing written (property-based, in-process through the CLI runner)."""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import AFFINE_MUL, run_cli, run_config, write_yaml

pytestmark = pytest.mark.filterwarnings(AFFINE_MUL)

COMMANDS = ("train", "validate", "test", "predict")
_word = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=3, max_size=10)
# a name no registry or signature knows: a fixed prefix keeps it from ever being valid
_unknown = _word.map(lambda w: f"zq{w}")


def _at(cfg: dict[str, Any], dotted: str) -> tuple[dict[str, Any], str]:
    *parents, leaf = dotted.split(".")
    node = cfg
    for p in parents:
        node = node[p]
    return node, leaf


def _set(dotted: str, value: Any) -> Any:
    def mutate(cfg: dict[str, Any]) -> None:
        node, leaf = _at(cfg, dotted)
        node[leaf] = value

    return mutate


def _delete(dotted: str) -> Any:
    def mutate(cfg: dict[str, Any]) -> None:
        node, leaf = _at(cfg, dotted)
        del node[leaf]

    return mutate


# Each case: (mutation of a valid config or raw YAML text, text the message must contain).
_malformed_yaml = st.sampled_from(
    [
        "trainer: [1, 2\nmodel: {",
        "model:\n  class_path: SemanticSegmentationTask\n   init_args: {}\n",
        "trainer:\n\tmax_epochs: 1\n",
        "model: {class_path: 'unterminated\n",
        "a: b: c\n",
        "- just\n- a list\n",
        "42\n",
    ]
).map(lambda text: (text, "config"))

_unknown_keys = st.tuples(st.sampled_from(["", "trainer", "model.init_args", "data.init_args", "model"]), _unknown).map(
    lambda t: (_set(f"{t[0]}.{t[1]}" if t[0] else t[1], 1), t[1])
)

_unknown_components = st.tuples(
    st.sampled_from(
        [
            "model.init_args.model_args.backbone",
            "model.init_args.model_args.decoder",
            "model.init_args.loss",
            "model.init_args.model_factory",
            "model.class_path",
            "data.class_path",
        ]
    ),
    _unknown,
).map(lambda t: (_set(t[0], t[1]), t[1]))

_not_int = st.one_of(
    _word,
    st.lists(st.integers(), min_size=1, max_size=3),
    st.dictionaries(_word, st.integers(), min_size=1, max_size=2),
)
_not_float = st.one_of(_word.filter(lambda w: w not in ("nan", "inf")), st.lists(st.floats(), min_size=1, max_size=2))
_wrong_types = st.one_of(
    st.tuples(st.just("trainer.max_epochs"), _not_int),
    st.tuples(st.just("data.init_args.batch_size"), st.one_of(_not_int, st.floats(0.1, 9.9), st.integers(-5, 0))),
    st.tuples(st.just("model.init_args.lr"), _not_float),
    st.tuples(st.just("model.init_args.model_args"), st.one_of(_word, st.integers())),
    st.tuples(st.just("trainer"), st.one_of(_word, st.integers(), st.lists(st.integers(), min_size=1))),
    st.tuples(st.just("model.init_args"), st.lists(st.integers(), min_size=1, max_size=2)),
    st.tuples(st.just("trainer.accelerator"), st.integers()),
    st.tuples(st.just("data.init_args.img_grep"), st.one_of(st.integers(), st.lists(_word, min_size=1))),
).map(lambda t: (_set(t[0], t[1]), t[0].rsplit(".", 1)[-1]))

_missing = st.sampled_from(
    [
        ("model", "model"),
        ("data.init_args.batch_size", "batch_size"),
        ("model.init_args.model_args.num_classes", "num_classes"),
        ("model.class_path", "class_path"),
        ("data.class_path", "class_path"),
    ]
).map(lambda t: (_delete(t[0]), t[1]))


def _rename(dotted: str, new: str) -> Any:
    def mutate(cfg: dict[str, Any]) -> None:
        node, leaf = _at(cfg, dotted)
        node[new] = node.pop(leaf)

    return mutate


def _misspellings(word: str) -> st.SearchStrategy[str]:
    """A dropped, doubled or swapped letter: what a hurried hand types."""
    i = st.integers(1, len(word) - 2)
    return st.one_of(
        i.map(lambda k: word[:k] + word[k + 1 :]),
        i.map(lambda k: word[:k] + word[k] + word[k:]),
        i.map(lambda k: word[:k] + word[k + 1] + word[k] + word[k + 2 :]),
    ).filter(lambda w: w != word)


# issue 22: a misspelt required model argument names the missing one (one line, not a TypeError traceback)
_misspelt_required = st.sampled_from(["backbone", "decoder"]).flatmap(
    lambda key: _misspellings(key).map(lambda typo: (_rename(f"model.init_args.model_args.{key}", typo), key))
)
# issue 22: `num_classes: two` is a ValueError traceback no more
_wrong_model_args = st.tuples(
    st.sampled_from(["two", "2.5", "[2]", "yes please"]), st.sampled_from(["model.init_args.model_args.num_classes"])
).map(lambda t: (_set(t[1], yaml.safe_load(t[0]) if t[0] != "yes please" else t[0]), "num_classes"))

CASES = st.one_of(
    _malformed_yaml, _unknown_keys, _unknown_components, _wrong_types, _missing, _misspelt_required, _wrong_model_args
)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("bad-configs")


def _check_rejected(command: str, case: tuple[Any, str], data: Path, work: Path) -> None:
    mutation, needle = case
    case_dir = Path(tempfile.mkdtemp(dir=work))
    run_dir, out = case_dir / "run", case_dir / "out"
    if isinstance(mutation, bytes | Path):
        text = repr(mutation)
    elif isinstance(mutation, str):
        text = mutation
    else:
        cfg = run_config(data, run_dir)
        cfg = copy.deepcopy(cfg)
        mutation(cfg)
        text = yaml.safe_dump(cfg)
    if isinstance(mutation, Path):  # a directory given as the config
        path = case_dir / mutation
        path.mkdir()
        (path / "inside.yaml").write_text("model: {}\n")
    elif isinstance(mutation, bytes):
        path = case_dir / "bad.yaml"
        path.write_bytes(mutation)
    else:
        path = write_yaml(case_dir / "bad.yaml", text)
    extra = ["-i", str(data / "images"), "-o", str(out)] if command == "predict" else []
    res = run_cli([command, "-c", str(path), *extra])
    shown = f"--- {command} with\n{text}\n--- gave exit {res.exit_code}:\n{res.output}"
    assert res.exit_code == 2, shown
    assert "Traceback" not in res.output, shown
    assert res.output.startswith("error: "), shown
    assert len(res.output.strip().splitlines()) < 25, shown
    assert needle in res.output, f"message does not name {needle!r}\n{shown}"
    assert not run_dir.exists(), f"{sorted(run_dir.rglob('*'))} written\n{shown}"
    assert not out.exists(), shown


@settings(
    max_examples=25,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(command=st.sampled_from(COMMANDS), case=CASES)
def test_bad_configs_exit_2_with_a_short_error_and_write_nothing(command, case, seg_data, workdir):
    _check_rejected(command, case, seg_data, workdir)


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize(
    ("dotted", "needle"),
    [("data.init_args.batch_size", "batch_size"), ("model.init_args.model_args.num_classes", "num_classes")],
)
def test_values_rejected_by_a_constructor_are_config_errors(command, dotted, needle, seg_data, workdir):
    """Errors raised while building (a task or datamodule rejecting a value) are exit 2 too, on every command."""
    value = -1 if dotted.endswith("batch_size") else None
    _check_rejected(command, (_set(dotted, value) if value is not None else _delete(dotted), needle), seg_data, workdir)


@pytest.mark.parametrize("command", ["train", "validate", "test"])
def test_no_data_section_is_a_config_error(command, seg_data, workdir):
    _check_rejected(command, (_delete("data"), "data"), seg_data, workdir)


@pytest.mark.parametrize("dotted", ["model.init_args.lr", "data.init_args.img_grep", "data.init_args.num_workers"])
def test_null_for_a_value_that_cannot_be_null(dotted, seg_data, workdir):
    _check_rejected("train", (_set(dotted, None), dotted.rsplit(".", 1)[-1]), seg_data, workdir)


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (bytes(range(256)) * 4, "not a YAML text file"),  # a binary file (was a UnicodeDecodeError)
        (b"\x89PNG\r\n\x1a\n" + bytes(200), "not a YAML text file"),
        (Path("configs"), "is a directory"),  # was "does not exist"
        (b"", "the config is empty"),  # was "arguments are required: model"
        (b"# only a comment\n\n", "the config is empty"),
    ],
)
def test_config_files_that_are_not_configs_say_what_they_are(command, content, needle, seg_data, workdir):
    """issue 22: binary, directory and empty configs get one line saying what the file is."""
    _check_rejected(command, (content, needle), seg_data, workdir)


@pytest.mark.parametrize("command", ["train", "predict"])
@pytest.mark.parametrize(
    ("mutation", "needle"),
    [
        (_rename("model.init_args.model_args.backbone", "backbon"), "'backbone' is missing; 'backbon' looks like"),
        (_set("model.init_args.model_args.num_classes", "two"), "num_classes must be int"),
    ],
)
def test_model_args_the_factory_cannot_take_are_one_line(command, mutation, needle, seg_data, workdir):
    """issue 22: these were a 92-line TypeError and a ValueError traceback."""
    _check_rejected(command, (mutation, needle), seg_data, workdir)
