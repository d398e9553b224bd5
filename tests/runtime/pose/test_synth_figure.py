"""The kinematic tree: sampled poses stay within the joint limits, bones keep their
lengths, the elbow and knee angles are the sampled ones, and a mirrored pose gives the
mirrored keypoints with COCO's flip pairs (left and right are the person's own)."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from archc.runtime.pose.keypoints import COCO
from archc.runtime.pose.synth.figure import (
    ANGLE_NAMES,
    PROPORTION_RANGES,
    face_hidden,
    limits,
    pose_skeleton,
    sample_pose,
    sample_proportions,
)

seeds = st.integers(0, 2**32 - 1)
BONES = [
    ("shoulder", "elbow", "upper_arm"),
    ("elbow", "wrist", "forearm"),
    ("hip", "knee", "thigh"),
    ("knee", "ankle", "shin"),
]


def _sample(seed: int):
    rng = np.random.default_rng(seed)
    return sample_pose(rng), sample_proportions(rng)


def _angle(u: np.ndarray, v: np.ndarray) -> float:
    cos = np.dot(u, v) / (np.linalg.norm(u) * np.linalg.norm(v))
    return math.degrees(math.acos(np.clip(cos, -1.0, 1.0)))


@settings(max_examples=150, deadline=None)
@given(seeds)
def test_sampled_poses_and_proportions_respect_their_limits(seed: int) -> None:
    pose, props = _sample(seed)
    assert set(pose) == set(ANGLE_NAMES)
    for name, value in pose.items():
        lo, hi = limits(name)
        assert lo <= value <= hi, name
    for name, (lo, hi) in PROPORTION_RANGES.items():
        assert lo <= props[name] <= hi, name


@settings(max_examples=150, deadline=None)
@given(seeds)
def test_bones_keep_their_lengths_and_joints_bend_by_the_sampled_angle(seed: int) -> None:
    pose, props = _sample(seed)
    j = pose_skeleton(pose, props).joints
    for side, s in (("left", "l"), ("right", "r")):
        for a, b, bone in BONES:
            length = np.linalg.norm(j[f"{side}_{b}"] - j[f"{side}_{a}"])
            assert math.isclose(length, props[bone], rel_tol=1e-9)
        upper = j[f"{side}_elbow"] - j[f"{side}_shoulder"]
        fore = j[f"{side}_wrist"] - j[f"{side}_elbow"]
        assert math.isclose(_angle(upper, fore), pose[f"{s}_elbow"], abs_tol=1e-6)
        thigh = j[f"{side}_knee"] - j[f"{side}_hip"]
        shin = j[f"{side}_ankle"] - j[f"{side}_knee"]
        assert math.isclose(_angle(thigh, shin), pose[f"{s}_knee"], abs_tol=1e-6)
    width = np.linalg.norm(j["left_shoulder"] - j["right_shoulder"])
    assert math.isclose(width, props["shoulder_w"], rel_tol=1e-9)


def _mirror(pose: dict[str, float]) -> dict[str, float]:
    out = {}
    for name, value in pose.items():
        if name[:2] in ("l_", "r_"):
            out[("r_" if name[0] == "l" else "l_") + name[2:]] = value
        elif name in ("yaw", "roll", "side_bend", "head_yaw", "head_roll"):
            out[name] = -value
        else:
            out[name] = value
    return out


@settings(max_examples=100, deadline=None)
@given(seeds)
def test_a_mirrored_pose_mirrors_the_keypoints_with_the_flip_pairs(seed: int) -> None:
    pose, props = _sample(seed)
    a = pose_skeleton(pose, props).joints
    b = pose_skeleton(_mirror(pose), props).joints
    flip = COCO.flip_index
    for k, name in enumerate(COCO.names):
        mirrored = b[COCO.names[flip[k]]]
        assert np.allclose(mirrored, a[name] * np.array([-1.0, 1.0, 1.0]), atol=1e-9), name


def test_left_is_the_persons_left() -> None:
    _, props = _sample(0)
    neutral = {name: 0.0 for name in ANGLE_NAMES}
    front = pose_skeleton(neutral, props).joints
    back = pose_skeleton(neutral | {"yaw": 180.0}, props).joints
    for name in ("shoulder", "hip", "eye", "ear"):
        assert front[f"left_{name}"][0] > front[f"right_{name}"][0]  # image right
        assert back[f"left_{name}"][0] < back[f"right_{name}"][0]
    assert front["nose"][2] > front["left_ear"][2]  # the face is towards the camera


def test_the_face_is_hidden_when_facing_away() -> None:
    _, props = _sample(0)
    neutral = {name: 0.0 for name in ANGLE_NAMES}
    assert not any(face_hidden(pose_skeleton(neutral, props)).values())
    away = face_hidden(pose_skeleton(neutral | {"yaw": 180.0}, props))
    assert away["nose"] and away["left_eye"] and away["right_eye"]
    side = face_hidden(pose_skeleton(neutral | {"yaw": 90.0}, props))  # faces image right
    assert side["left_ear"] and not side["right_ear"] and not side["nose"]
    assert side["left_eye"] and not side["right_eye"]
