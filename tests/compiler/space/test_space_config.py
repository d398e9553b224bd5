"""Config: an immutable mapping, its JSON file format, and every way a file can be wrong."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from archc.compiler.space import Config, ConfigError

CFG = Config({"w": 8, "r": 0.5, "on": True, "act": "relu"}, "kinds")
GOOD = {"format": "archc-config", "version": 1, "space": "kinds", "choices": {"w": 8}}

scalars = st.one_of(
    st.integers(),
    st.booleans(),
    st.text(max_size=8),
    st.floats(allow_nan=False, allow_infinity=False),
)
configs = st.builds(
    Config,
    st.dictionaries(st.text(min_size=1, max_size=8), scalars, max_size=6),
    st.one_of(st.none(), st.text(max_size=8)),
)


def load_error(tmp_path: Path, text: str | bytes) -> str:
    path = tmp_path / "c.json"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    with pytest.raises(ConfigError) as err:
        Config.load(path)
    return str(err.value).replace(str(path), "PATH")


def doc(**changes) -> str:
    d = {**GOOD, **changes}
    return json.dumps({k: v for k, v in d.items() if v is not ...})


# ---- the mapping


def test_config_is_an_ordered_immutable_hashable_mapping():
    assert list(CFG) == ["w", "r", "on", "act"]
    assert CFG["r"] == 0.5 and len(CFG) == 4 and CFG.space == "kinds"
    with pytest.raises(TypeError):
        CFG["w"] = 16  # type: ignore[index]
    with pytest.raises(AttributeError):
        CFG.space = "other"  # type: ignore[misc]
    assert {CFG, Config(dict(CFG), "kinds")} == {CFG}


def test_configs_compare_by_values_and_space_and_equal_plain_dicts():
    assert CFG == {"w": 8, "r": 0.5, "on": True, "act": "relu"}
    assert Config(dict(CFG), "other") != CFG
    assert CFG.with_values({"w": 16}) == {**CFG, "w": 16}
    assert list(CFG.with_values({"w": 16})) == list(CFG)
    assert repr(Config({"w": 8}, "s")) == "Config({'w': 8}, space='s')"


def test_config_rejects_values_that_are_not_json_scalars():
    with pytest.raises(ConfigError) as err:
        Config({"a": [1], "b": None, "c": math.inf, "d": 1}, space=3)  # type: ignore[arg-type]
    assert str(err.value) == (
        "not a valid config:\n"
        "  choice `a` is a list; values must be numbers, bools or strings\n"
        "  choice `b` is null; values must be numbers, bools or strings\n"
        "  choice `c` is the non-finite number inf; values must be numbers, bools or strings\n"
        "  the space name must be a string, got 3"
    )
    assert len(err.value.problems) == 4


# ---- JSON and files


def test_to_json_writes_the_versioned_document_in_choice_order():
    assert CFG.to_json() == (
        '{\n  "format": "archc-config",\n  "version": 1,\n  "space": "kinds",\n'
        '  "choices": {\n    "w": 8,\n    "r": 0.5,\n    "on": true,\n    "act": "relu"\n'
        "  }\n}\n"
    )


@given(configs)
def test_json_round_trip(cfg: Config):
    back = Config.from_json(cfg.to_json())
    assert back == cfg and list(back) == list(cfg)
    assert [type(v) for v in back.values()] == [type(v) for v in cfg.values()]


def test_save_then_load_round_trip(tmp_path: Path):
    path = tmp_path / "best.json"
    CFG.save(path)
    back = Config.load(path)
    assert back == CFG and back.space == "kinds" and list(back) == list(CFG)
    assert os.listdir(tmp_path) == ["best.json"]  # no temporary file left behind


def test_save_replaces_an_existing_file(tmp_path: Path):
    path = tmp_path / "best.json"
    path.write_text("old")
    Config({"w": 16}).save(path)
    assert Config.load(path) == Config({"w": 16})


def test_a_failed_save_keeps_the_old_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "best.json"
    CFG.save(path)

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        Config({"w": 16}).save(path)
    assert Config.load(path) == CFG
    assert os.listdir(tmp_path) == ["best.json"]


def test_a_document_without_space_loads_with_no_space():
    text = json.dumps({"format": "archc-config", "version": 1, "choices": {"w": 8}})
    assert Config.from_json(text).space is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "PATH:1:1: invalid JSON: Expecting value"),
        (
            '{"format": "archc-config",\n  "version": 1,,\n}',
            "PATH:2:16: invalid JSON: Expecting property name enclosed in double quotes",
        ),
        ('{"choices": {"w": NaN}}', "PATH: invalid JSON: `NaN` is not a JSON number"),
        ('{"choices": {"w": 1, "w": 2}}', "PATH: key `w` appears twice in one object"),
        ("[1, 2]", "PATH: expected a JSON object, got a list"),
        ("3", "PATH: expected a JSON object, got 3"),
        (
            doc(format="onnx"),
            'PATH: not an archc config: `format` is "onnx", expected "archc-config"',
        ),
        (doc(format=...), 'PATH: not an archc config: missing `"format": "archc-config"`'),
        (
            doc(version=2),
            "PATH: not an archc config: version 2 is not supported (this archc reads version 1)",
        ),
        (doc(version="1"), 'PATH: not an archc config: `version` must be an integer, got "1"'),
        (doc(version=True), "PATH: not an archc config: `version` must be an integer, got true"),
        (
            doc(version=...),
            "PATH: not an archc config: missing `version` (this archc writes version 1)",
        ),
        (doc(space=["s"]), "PATH: not an archc config: `space` must be a string, got a list"),
        (
            doc(choices=...),
            "PATH: not an archc config: missing `choices` (an object mapping "
            "choice names to values)",
        ),
        (
            doc(choices=[8]),
            "PATH: not an archc config: `choices` must be an object mapping "
            "choice names to values, got a list",
        ),
        (
            doc(choices={"w": {"v": 8}}),
            "PATH: not an archc config: choice `w` is an object; "
            "values must be numbers, bools or strings",
        ),
        (
            doc(choice={}),
            "PATH: not an archc config: unknown key `choice`; did you mean `choices`?",
        ),
        (
            doc(format="x", version=0, choices=None, colour=1),
            "PATH: not an archc config:\n"
            "  unknown key `colour`\n"
            '  `format` is "x", expected "archc-config"\n'
            "  version 0 is not supported (this archc reads version 1)\n"
            "  missing `choices` (an object mapping choice names to values)",
        ),
    ],
)
def test_bad_config_files(tmp_path: Path, text: str, expected: str):
    assert load_error(tmp_path, text) == expected


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {"format": "x" * 100_000},
            'PATH: not an archc config: `format` is "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx..." '
            '(100,000 characters), expected "archc-config"',
        ),
        (
            {"version": 10**4000},
            "PATH: not an archc config: version 100000...0000 (4001 digits) is not supported "
            "(this archc reads version 1)",
        ),
        (
            {"k" * 100_000: 1},
            "PATH: not an archc config: unknown key `kkkkkkkkkkkkkkkkkkkkkkkkkkkkkk...` "
            "(100,000 characters)",
        ),
        (
            {"format": [[[[1] * 1000]]]},
            'PATH: not an archc config: `format` is a list, expected "archc-config"',
        ),
    ],
)
def test_huge_values_and_names_are_not_echoed_in_full(tmp_path: Path, changes, expected):
    assert load_error(tmp_path, doc(**changes)) == expected


def test_missing_file(tmp_path: Path):
    with pytest.raises(ConfigError) as err:
        Config.load(tmp_path / "nope.json")
    assert str(err.value) == f"{tmp_path / 'nope.json'}: no such config file"


def test_folder_instead_of_file(tmp_path: Path):
    with pytest.raises(ConfigError) as err:
        Config.load(tmp_path)
    assert str(err.value) == f"{tmp_path}: is a folder, not a config file"


def test_file_that_is_not_utf8(tmp_path: Path):
    message = load_error(tmp_path, b'{"choices": {"act": "\xff"}}')
    assert message == "PATH: not UTF-8 text (invalid start byte at byte 21)"


def test_from_dict_names_its_source():
    with pytest.raises(ConfigError) as err:
        Config.from_dict({**GOOD, "version": 9}, source="run 3")
    assert str(err.value) == (
        "run 3: not an archc config: version 9 is not supported (this archc reads version 1)"
    )
    assert Config.from_dict(GOOD) == Config({"w": 8}, "kinds")
