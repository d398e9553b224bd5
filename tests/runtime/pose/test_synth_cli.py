"""`archc data synth`: a good run writes the documented layout; bad arguments fail with
exit code 2 (a bad command line) or 1 and one clear line, before anything is written."""

from __future__ import annotations

import json

import pytest

from archc.cli import data
from archc.cli import main as cli
from archc.runtime.pose.synth.writer import (
    MAX_FRAMES,
    MAX_IMAGES,
    SIZE_LIMITS,
    SynthError,
    synthesize,
)

SMALL = ["--size", "96x128", "--workers", "1"]


def test_a_good_run_writes_images_and_annotations(tmp_path, capsys) -> None:
    out = tmp_path / "ds"
    assert cli.main(["data", "synth", str(out), "--train", "3", "--val", "2", *SMALL]) == 0
    assert "wrote 3 train and 2 val images" in capsys.readouterr().out
    for split, n in (("train", 3), ("val", 2)):
        doc = json.loads((out / "annotations" / f"person_keypoints_{split}.json").read_text())
        assert [i["file_name"] for i in doc["images"]] == [f"{i:06d}.jpg" for i in range(n)]
        assert sorted(p.name for p in (out / "images" / split).iterdir()) == [
            f"{i:06d}.jpg" for i in range(n)
        ]
        assert all((i["height"], i["width"]) == (96, 128) for i in doc["images"])


def test_video_mode_names_frames_by_sequence(tmp_path) -> None:
    out = tmp_path / "v"
    argv = ["data", "synth", str(out), "--train", "2", "--val", "0", "--video", "3", *SMALL]
    assert cli.main(argv) == 0
    doc = json.loads((out / "annotations" / "person_keypoints_train.json").read_text())
    assert [(i["file_name"], i["vid_id"], i["frame_id"]) for i in doc["images"]][:4] == [
        ("000000_000.jpg", 1, 0),
        ("000000_001.jpg", 1, 1),
        ("000000_002.jpg", 1, 2),
        ("000001_000.jpg", 2, 0),
    ]
    assert (
        json.loads((out / "annotations" / "person_keypoints_val.json").read_text())["images"] == []
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--size", "96"], "must be HxW in pixels (height x width), e.g. 288x384; got '96'"),
        (
            ["--size", "32x128"],
            "height and width must each be within 64..2048 pixels, got '32x128'",
        ),
        (["--train", "-1"], "must be >= 0, got -1"),
        (["--val", "-3"], "must be >= 0, got -3"),
        (["--video", "1"], "must be >= 2, got 1"),
        (["--seed", "-2"], "must be >= 0, got -2"),
        (["--workers", "0"], "must be >= 1, got 0"),
    ],
)
def test_bad_arguments_fail_with_a_clear_message(tmp_path, capsys, args, message) -> None:
    """A bad command line: exit 2, the usage, one line naming the option."""
    out = tmp_path / "x"
    with pytest.raises(SystemExit, match="2"):
        cli.main(["data", "synth", str(out), *args])
    err = capsys.readouterr().err.splitlines()[-1]
    assert err == f"archc data synth: error: argument {args[0]}: {message}"
    assert not out.exists()


def test_a_non_empty_folder_needs_force(tmp_path, capsys) -> None:
    out = tmp_path / "ds"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    argv = ["data", "synth", str(out), "--train", "2", "--val", "1", *SMALL]
    assert cli.main(argv) == 1
    assert capsys.readouterr().err == (
        f"archc: {out} is not empty; choose an empty folder or pass --force to overwrite "
        "the data set in it\n"
    )
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
    assert cli.main([*argv, "--force"]) == 0
    assert (out / "annotations" / "person_keypoints_train.json").is_file()
    assert (
        cli.main(["data", "synth", str(out), "--train", "1", "--val", "1", *SMALL, "--force"]) == 0
    )
    assert sorted(p.name for p in (out / "images" / "train").iterdir()) == ["000000.jpg"]
    assert (out / "notes.txt").read_text() == "mine"


def test_a_file_as_output_is_refused(tmp_path, capsys) -> None:
    target = tmp_path / "f"
    target.write_text("x")
    assert cli.main(["data", "synth", str(target), "--force"]) == 1
    assert "is not a folder" in capsys.readouterr().err


def test_data_without_an_action_prints_usage(capsys) -> None:
    assert cli.main(["data"]) == 2
    assert "synth" in capsys.readouterr().err


def test_size_limits_agree_with_the_library() -> None:
    assert data.SIZE_LIMITS == SIZE_LIMITS
    assert (data.MAX_FRAMES, data.MAX_IMAGES) == (MAX_FRAMES, MAX_IMAGES)
    assert data.parse_size(" 288X384 ") == (288, 384)


def test_the_library_refuses_the_same_counts(tmp_path) -> None:
    with pytest.raises(SynthError, match="at most 1000 frames"):
        synthesize(tmp_path / "v", 1, 0, video=MAX_FRAMES + 1)
    with pytest.raises(SynthError, match="holds at most 1,000,000"):
        synthesize(tmp_path / "v", MAX_IMAGES, 1)
    assert not (tmp_path / "v").exists()


def test_progress_is_reported_before_the_first_sequence_is_rendered(tmp_path) -> None:
    """A long sequence is one job: without a call at 0 a bar appears only after it."""
    calls = []
    synthesize(
        tmp_path / "v",
        2,
        1,
        size=(96, 128),
        video=2,
        workers=1,
        progress=lambda *c: calls.append(c),
    )
    assert calls == [
        ("train", 0, 4),
        ("train", 2, 4),
        ("train", 4, 4),
        ("val", 0, 2),
        ("val", 2, 2),
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--video", "100000"],
            "--video 100000: at most 1000 frames per sequence (frame numbers have 3 digits)",
        ),
        (
            ["--train", "2000000"],
            "--train 2000000 --val 100 is 2,000,100 images; a data set holds at most "
            "1,000,000 (make a smaller one, or several)",
        ),
        (
            ["--video", "1000"],
            "--train 1000 --val 100 --video 1000 is 1,100,000 images; a data set holds at "
            "most 1,000,000 (make a smaller one, or several)",
        ),
    ],
)
def test_too_much_is_refused_up_front(tmp_path, capsys, args, message) -> None:
    """The caps: a bad command line too (exit 2), found before anything is rendered."""
    out = tmp_path / "x"
    assert cli.main(["data", "synth", str(out), *args]) == 2
    assert capsys.readouterr().err.splitlines()[-1] == f"archc data synth: error: {message}"
    assert not out.exists()
