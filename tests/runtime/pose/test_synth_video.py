"""Synthetic videos: PoseTrack-style fields, consistent track ids, smooth motion."""

from __future__ import annotations

import json
from collections import defaultdict

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archc.runtime.pose.keypoints import COCO
from archc.runtime.pose.synth import synthesize
from archc.runtime.pose.synth.figure import limits
from archc.runtime.pose.synth.video import sample_sequence
from archc.runtime.pose.synth.writer import frame_rng

SIZE, FRAMES = (128, 160), 6
# Largest move of any keypoint between two frames, in figure heights (measured: < 0.1).
MAX_STEP = 0.15


@pytest.fixture(scope="module")
def video(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("video")
    synthesize(out, 3, 1, size=SIZE, seed=2, video=FRAMES, workers=1)
    return json.loads((out / "annotations" / "person_keypoints_train.json").read_text())


def test_images_and_persons_carry_video_fields(video: dict) -> None:
    assert len(video["images"]) == 3 * FRAMES
    frames = defaultdict(list)
    for img in video["images"]:
        frames[img["vid_id"]].append(img["frame_id"])
    assert sorted(frames) == [1, 2, 3]
    assert all(sorted(f) == list(range(FRAMES)) for f in frames.values())
    assert all(isinstance(a["track_id"], int) and a["track_id"] >= 0 for a in video["annotations"])


def test_every_frame_of_a_video_has_the_same_tracks(video: dict) -> None:
    image = {img["id"]: img for img in video["images"]}
    tracks = defaultdict(lambda: defaultdict(list))
    for ann in video["annotations"]:
        img = image[ann["image_id"]]
        tracks[img["vid_id"]][img["frame_id"]].append(ann["track_id"])
    for per_frame in tracks.values():
        ids = [sorted(per_frame[t]) for t in range(FRAMES)]
        assert ids[0] and all(i == ids[0] for i in ids)
        assert len(set(ids[0])) == len(ids[0]) and ids[0] == list(range(len(ids[0])))


def test_keypoints_move_smoothly_in_the_files(video: dict) -> None:
    image = {img["id"]: img for img in video["images"]}
    seq = defaultdict(dict)
    for ann in video["annotations"]:
        img = image[ann["image_id"]]
        seq[(img["vid_id"], ann["track_id"])][img["frame_id"]] = ann
    for anns in seq.values():
        size = max(max(a["bbox"][2], a["bbox"][3]) for a in anns.values())
        for t in range(FRAMES - 1):
            a = np.array(anns[t]["keypoints"], float).reshape(17, 3)
            b = np.array(anns[t + 1]["keypoints"], float).reshape(17, 3)
            both = (a[:, 2] > 0) & (b[:, 2] > 0)
            step = np.linalg.norm(a[both, :2] - b[both, :2], axis=1)
            assert step.max(initial=0) <= 0.25 * size


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_tracks_stay_within_limits_and_move_little_per_frame(seed: int) -> None:
    specs = sample_sequence(frame_rng(seed, "train", 0), *SIZE, 12)
    for k in range(len(specs[0].figures)):
        figures = [spec.figures[k] for spec in specs]
        for f in figures:
            for name, value in f.skel.pose.items():
                lo, hi = limits(name)
                assert lo - 1e-9 <= value <= hi + 1e-9, name
        pts = np.array([[f.xy(n) for n in COCO.names] for f in figures])
        steps = np.linalg.norm(np.diff(pts, axis=0), axis=-1)
        assert steps.max() <= MAX_STEP * figures[0].scale
        assert specs[0].tracks == specs[-1].tracks


def test_the_figures_do_move() -> None:
    specs = sample_sequence(frame_rng(0, "train", 1), *SIZE, 12)
    first, last = specs[0].figures[-1], specs[-1].figures[-1]
    moved = [np.linalg.norm(first.xy(n) - last.xy(n)) for n in COCO.names]
    assert max(moved) > 1.0
