"""A data set is checked before any work: every bad annotation, id, value and image
is listed (the first 20, then a count), naming the file and the annotation or image;
`archc data check` prints it, and `archc train` stops before writing its run folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("PIL")

from archc.cli.main import main
from archc.runtime.pose.validate import MAX_LISTED, check_split
from tests.runtime.train.train_fixtures import make_data, write_net

TRAIN = "annotations/person_keypoints_train.json"


@pytest.fixture
def data(tmp_path) -> Path:
    return make_data(tmp_path / "data")


def _edit(data: Path, change) -> None:
    path = data / TRAIN
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc))


def _errors(data: Path) -> list[str]:
    return check_split(data / TRAIN, data / "images/train").errors


def _first_person(doc) -> dict:
    return next(a for a in doc["annotations"] if not a.get("iscrowd"))


def test_a_clean_data_set_passes(data):
    report = check_split(data / TRAIN, data / "images/train")
    assert report.ok and report.images > 0 and report.annotations > 0


CASES = {
    "string image id": (lambda d: d["images"][0].update(id="a7"), "'id' must be an integer"),
    "duplicate image id": (
        lambda d: d["images"][1].update(id=d["images"][0]["id"]),
        "defined twice",
    ),
    "nan keypoint": (
        lambda d: _first_person(d)["keypoints"].__setitem__(0, float("nan")),
        "not a finite number",
    ),
    "string keypoint": (
        lambda d: _first_person(d)["keypoints"].__setitem__(1, "12"),
        "not a finite number",
    ),
    "visibility 3": (
        lambda d: _first_person(d)["keypoints"].__setitem__(2, 3),
        "visibility 3 is not 0, 1 or 2",
    ),
    "nan box": (
        lambda d: _first_person(d)["bbox"].__setitem__(2, float("nan")),
        "'bbox' must be four finite numbers",
    ),
    "negative box": (lambda d: _first_person(d)["bbox"].__setitem__(3, -4.0), "negative size"),
    "keypoint count": (
        lambda d: _first_person(d).update(keypoints=[1.0] * 10),
        "'keypoints' has 10 values, expected 51",
    ),
    "missing image": (
        lambda d: d["images"][0].update(file_name="gone.jpg"),
        "gone.jpg not found",
    ),
    "outside the data set": (
        lambda d: d["images"][0].update(file_name="../../../outside.jpg"),
        "is outside",
    ),
    "absolute path": (
        lambda d: d["images"][0].update(file_name="/etc/hostname"),
        "is outside",
    ),
    "other size": (lambda d: d["images"][0].update(width=999), "annotated 999x"),
    "unknown image": (lambda d: _first_person(d).update(image_id=123456), "not an image of"),
    "category disagrees": (
        lambda d: d["categories"][0].update(keypoints=["nose", "eye"]),
        "has 51 values, expected 6",
    ),
    # the net's layout follows from the count: its flips, OKS sigmas and parts go by index
    "keypoint names in another order": (
        lambda d: d["categories"][0]["keypoints"].reverse(),
        "category 1: keypoint 0 is 'right_ankle' in the data, 'nose' in the coco layout",
    ),
    "no known layout": (
        lambda d: d["categories"][0].update(keypoints=[f"k{i}" for i in range(14)]),
        "its 14 keypoint names fit no layout archc knows (coco: 17, mpii: 16)",
    ),
    # predictions are written as category 1; pycocotools scores each category apart
    "person category not 1": (
        lambda d: d["categories"][0].update(id=3),
        "no category with id 1 (archc writes its predictions as category 1, person)",
    ),
    "other category": (
        lambda d: _first_person(d).update(category_id=2),
        "annotation 1: category_id 2 is not 1 (person)",
    ),
    # pycocotools indexes persons by annotation id: a duplicate replaces one in scoring
    "string annotation id": (lambda d: _first_person(d).update(id="p1"), "'id' must be an integer"),
    "duplicate annotation id": (
        lambda d: d["annotations"][1].update(id=d["annotations"][0]["id"]),
        "annotation 1: defined twice",
    ),
    "nan area": (
        lambda d: _first_person(d).update(area=float("nan")),
        "annotation 1: 'area' must be a finite number >= 0, got nan",
    ),
    "negative area": (lambda d: _first_person(d).update(area=-5), "got -5"),
    # COCOeval ignores a person whose num_keypoints is 0, whatever its keypoints say
    "num_keypoints disagrees": (
        lambda d: _first_person(d).update(num_keypoints=0),
        "annotation 1: 'num_keypoints' is 0, but 15 keypoints are labelled",
    ),
    "string width": (
        lambda d: d["images"][0].update(width="320"),
        "image id 1: 'width' and 'height' must be integers >= 1, got '320' x 320",
    ),
    "string track id": (lambda d: _first_person(d).update(track_id="t"), "'track_id' must be"),
    # the loaders read every annotation's keypoints, crowd regions too
    "crowd keypoint count": (
        lambda d: d["annotations"][4].update(keypoints=[0] * 10),
        "annotation 10: 'keypoints' has 10 values, expected 51",
    ),
    "nul in file_name": (
        lambda d: d["images"][0].update(file_name="a\x00.jpg"),
        "image id 1: file_name 'a\\x00.jpg' is not a usable path",
    ),
    # 10**400 is a JSON number that no float holds
    "huge keypoint": (
        lambda d: _first_person(d)["keypoints"].__setitem__(0, 10**400),
        "'keypoints' holds 10000000000000000..., not a finite number",
    ),
    "huge box": (lambda d: _first_person(d)["bbox"].__setitem__(0, 10**400), "'bbox' must be"),
    # pycocotools takes int() of it when it scores
    "iscrowd a string": (
        lambda d: _first_person(d).update(iscrowd="no"),
        "annotation 1: 'iscrowd' must be 0 or 1, got 'no'",
    ),
    "no annotations list": (lambda d: d.pop("annotations"), "no 'annotations' list"),
    "no images": (lambda d: d.update(images=[], annotations=[]), "no images: a split needs"),
    "nan box of a crowd": (
        lambda d: d["annotations"][4]["bbox"].__setitem__(0, float("nan")),
        "annotation 10: 'bbox' must be four finite numbers",
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_each_fault_is_named(data, case):
    change, expected = CASES[case]
    _edit(data, change)
    errors = _errors(data)
    assert any(expected in e for e in errors), errors


def test_the_first_twenty_are_listed_and_the_rest_counted(data):
    def many_bad(doc):
        person = {**_first_person(doc), "bbox": [0, 0, -1, -1]}
        doc["annotations"] = [{**person, "id": 1000 + i} for i in range(25)]

    _edit(data, many_bad)
    report = check_split(data / TRAIN, data / "images/train")
    assert report.error_count > MAX_LISTED == len(report.errors)
    assert report.render().endswith(f"... and {report.error_count - MAX_LISTED} more")


def test_cli_check_and_train_refuse_before_writing(data, tmp_path, capsys):
    assert main(["data", "check", str(data)]) == 0
    assert "0 errors" in capsys.readouterr().out
    _edit(data, lambda d: d["images"][0].update(file_name="gone.jpg"))
    assert main(["data", "check", str(data)]) == 1
    assert "gone.jpg not found" in capsys.readouterr().err
    net = write_net(tmp_path)
    run = tmp_path / "run"
    args = ["train", str(net), "--data", str(data), "--out", str(run), "--epochs", "1"]
    assert main([*args, "--workers", "0"]) == 1
    err = capsys.readouterr().err
    assert "gone.jpg not found" in err and "Traceback" not in err
    assert not run.exists()


@pytest.mark.parametrize("suffix", ["jpg", "png"])
def test_a_truncated_image_is_found_without_decoding_it(data, suffix):
    """A download cut short keeps its header (the size reads fine) and loses its end:
    the loader would fail on it in the middle of an epoch."""
    doc = json.loads((data / TRAIN).read_text())
    name = doc["images"][0]["file_name"]
    if suffix == "png":
        from PIL import Image

        with Image.open(data / "images/train" / name) as im:
            im.save(data / "images/train/first.png")
        _edit(data, lambda d: d["images"][0].update(file_name="first.png"))
        name = "first.png"
    path = data / "images/train" / name
    assert not _errors(data)
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) // 2])
    assert any(f"{name} is truncated" in e for e in _errors(data)), _errors(data)


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d["images"][0].update(width=10**400),
        lambda d: d["images"][0].update(file_name="a" * 5000),
        lambda d: _first_person(d).update(area=10**400),
    ],
)
def test_a_huge_value_is_not_echoed_in_full(data, change):
    _edit(data, change)
    errors = _errors(data)
    assert errors and all(len(e) < 300 for e in errors), errors


def _point_first_image_at(data: Path, name: str) -> None:
    _edit(data, lambda d: d["images"][0].update(file_name=name))


def test_a_symbolic_link_loop_is_an_error(data):
    folder = data / "images/train"
    (folder / "l1").symlink_to("l2")
    (folder / "l2").symlink_to("l1")
    _point_first_image_at(data, "l1")
    assert any("image id 1: file_name 'l1' is not a usable path" in e for e in _errors(data))


def test_a_named_pipe_is_not_opened(data):
    """Opening a FIFO for its header would wait for a writer forever."""
    import os

    os.mkfifo(data / "images/train/pipe.jpg")
    _point_first_image_at(data, "pipe.jpg")
    assert any("pipe.jpg is not a regular file" in e for e in _errors(data)), _errors(data)


def test_a_decompression_bomb_is_named_not_decoded(data):
    """A 100000 x 100000 PNG header: PIL refuses to open it (a bomb), archc says why."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body)
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")
    (data / "images/train/bomb.png").write_bytes(png)
    _point_first_image_at(data, "bomb.png")
    assert any("bomb.png is too large to decode" in e for e in _errors(data)), _errors(data)


def test_json_nested_too_deeply_is_one_error(data):
    (data / TRAIN).write_text("[" * 100_000 + "]" * 100_000)
    assert _errors(data) == ["malformed JSON: nested too deeply"]


def test_a_number_of_5000_digits_is_one_error_without_python_advice(data):
    (data / TRAIN).write_text('{"images": [], "n": ' + "7" * 5000 + "}")
    assert _errors(data) == ["holds a number of more than 4,300 digits"]


def test_keypoint_names_may_be_spelled_differently_in_the_same_order(data):
    """Conversions of the same data set write `Right Ankle` or `r_ankle`: the order is
    what flips and OKS sigmas depend on, so only the order is held against the data."""
    from archc.runtime.pose.keypoints import COCO

    spelled = [n.replace("_", " ").title() for n in COCO.names]
    _edit(data, lambda d: d["categories"][0].update(keypoints=spelled))
    assert not _errors(data)
