"""`archc data synth --profile quick|standard`: what the quick profile leaves out, that
standard is what archc always rendered, and bad profile names."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from archc.cli import main as cli
from archc.runtime.pose.synth import SynthError, synthesize
from archc.runtime.pose.synth.body import extent
from archc.runtime.pose.synth.figure import sample_pose
from archc.runtime.pose.synth.profile import QUICK, STANDARD, profile_named
from archc.runtime.pose.synth.scene import inside_fraction, sample_scene
from archc.runtime.pose.synth.video import sample_sequence
from archc.runtime.pose.synth.writer import frame_rng

SIZE = (96, 128)


def _scenes(profile, n: int = 60):
    return [sample_scene(frame_rng(5, "train", i), *SIZE, profile) for i in range(n)]


def test_quick_scenes_hold_one_or_two_whole_persons_and_nothing_else() -> None:
    scenes = _scenes(QUICK)
    counts = [len(s.figures) for s in scenes]
    assert set(counts) <= {1, 2} and 1 in counts and 2 in counts
    for s in scenes:
        assert not s.clutter and not s.occluders and s.blur == 0 and s.noise <= QUICK.noise
        for f in s.figures:
            assert inside_fraction(extent(f), *SIZE) > 0.99  # never cut by the border
            assert abs(f.skel.pose["yaw"]) <= QUICK.yaw
    firsts = [max(f.scale for f in s.figures) / SIZE[0] for s in scenes if s.figures]
    assert np.median(firsts) > 0.6  # large persons: crops with detail


def test_standard_scenes_keep_their_crowds_clutter_and_occluders() -> None:
    scenes = _scenes(STANDARD)
    assert max(len(s.figures) for s in scenes) >= 3
    assert any(s.clutter for s in scenes) and any(s.occluders for s in scenes)
    yaws = [abs(f.skel.pose["yaw"]) for s in scenes for f in s.figures]
    assert max(yaws) > 120  # seen from behind too


def test_quick_poses_face_the_camera_and_are_never_wild() -> None:
    rng = np.random.default_rng(0)
    for _ in range(200):
        pose = sample_pose(rng, yaw=QUICK.yaw, modes=QUICK.modes)
        assert abs(pose["yaw"]) <= QUICK.yaw


def test_quick_videos_keep_their_persons_in_view() -> None:
    specs = sample_sequence(frame_rng(1, "train", 0), *SIZE, 4, QUICK)
    assert len(specs) == 4 and not specs[0].occluders and not specs[0].clutter
    for spec in specs:
        for f in spec.figures:
            assert inside_fraction(extent(f), *SIZE) > 0.5


def test_the_profile_is_recorded_in_the_files_except_standard(tmp_path: Path) -> None:
    synthesize(tmp_path / "q", 3, 1, size=SIZE, workers=1, profile="quick")
    synthesize(tmp_path / "s", 3, 1, size=SIZE, workers=1)
    quick = json.loads((tmp_path / "q/annotations/person_keypoints_train.json").read_text())
    standard = json.loads((tmp_path / "s/annotations/person_keypoints_train.json").read_text())
    assert quick["info"]["profile"] == "quick"
    assert "profile" not in standard["info"]  # the files of before profiles existed
    assert quick["images"] and quick["annotations"]


def test_an_unknown_profile_is_refused_naming_the_known_ones(tmp_path: Path, capsys) -> None:
    with pytest.raises(SynthError, match="unknown data profile 'hard'; known profiles: quick"):
        synthesize(tmp_path / "x", 1, 1, size=SIZE, workers=1, profile="hard")
    assert not (tmp_path / "x").exists()
    with pytest.raises(ValueError, match="known profiles: quick, standard"):
        profile_named("")
    with pytest.raises(SystemExit) as exit_:
        cli.main(["data", "synth", str(tmp_path / "y"), "--profile", "hard"])
    assert exit_.value.code == 2
    assert "invalid choice: 'hard'" in capsys.readouterr().err


def test_the_cli_renders_a_quick_data_set(tmp_path: Path, capsys) -> None:
    argv = ["data", "synth", str(tmp_path / "d"), "--profile", "quick", "--train", "4"]
    assert cli.main([*argv, "--val", "2", "--size", "96x128", "--workers", "1"]) == 0
    assert "wrote 4 train and 2 val images" in capsys.readouterr().out
    assert len(list((tmp_path / "d/images/train").glob("*.jpg"))) == 4
