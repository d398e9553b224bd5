"""The articulated figure: proportions, joint-angle limits and forward kinematics.

A figure is a small 3D kinematic tree seen through an orthographic camera, so limbs
foreshorten when they point towards or away from the camera while the drawing stays
perspective-free. Units are body heights (heel to crown of a standing figure is about 1).

World axes: x to the image right, y up, z towards the camera. In the body frame, x is
the person's LEFT, y is up and z is forward (the way the person faces); yaw 0 faces the
camera, so the person's left appears on the image right, as in COCO.

    crown
     (head)          shoulders: neck base +- x * shoulder_w / 2
      |  neck        upper arm: down, abducted (about z) then flexed (about x)
    --+--            elbow: flexion bends the forearm forward
      |  torso       hips: pelvis +- x * hip_w / 2, thigh like the upper arm
    --+-- pelvis     knee: flexion bends the shin backward
     / \
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# Proportions in body heights: (low, high); each figure draws every one uniformly.
PROPORTION_RANGES: dict[str, tuple[float, float]] = {
    "head_r": (0.055, 0.070),  # head half-width; the head is 1.2x taller than wide
    "neck": (0.030, 0.050),
    "torso": (0.270, 0.320),  # pelvis centre to neck base
    "shoulder_w": (0.200, 0.260),
    "hip_w": (0.130, 0.180),
    "depth_w": (0.100, 0.140),  # torso front-to-back
    "upper_arm": (0.160, 0.195),
    "forearm": (0.140, 0.165),
    "thigh": (0.230, 0.265),
    "shin": (0.220, 0.255),
    "hand": (0.040, 0.055),
    "foot": (0.070, 0.090),
    "arm_r": (0.024, 0.034),  # capsule radii
    "forearm_r": (0.019, 0.027),
    "thigh_r": (0.038, 0.052),
    "shin_r": (0.026, 0.036),
}

# Joint-angle limits in degrees. Left and right limbs share the limits of their joint.
ANGLE_LIMITS: dict[str, tuple[float, float]] = {
    "yaw": (-180.0, 180.0),  # whole body about the vertical; 0 faces the camera
    "roll": (-35.0, 35.0),  # whole figure in the image plane
    "lean": (-15.0, 45.0),  # torso bends forward about the pelvis
    "side_bend": (-20.0, 20.0),
    "head_yaw": (-60.0, 60.0),
    "head_pitch": (-25.0, 25.0),
    "head_roll": (-20.0, 20.0),
    "shoulder_abd": (-10.0, 170.0),  # arm out to the side
    "shoulder_flex": (-50.0, 170.0),  # arm forward and up
    "arm_twist": (-60.0, 90.0),  # turns the plane the elbow bends in
    "elbow": (0.0, 150.0),
    "hip_abd": (-15.0, 50.0),
    "hip_flex": (-30.0, 120.0),
    "knee": (0.0, 150.0),
}
SIDED = ("shoulder_abd", "shoulder_flex", "arm_twist", "elbow", "hip_abd", "hip_flex", "knee")
ANGLE_NAMES: tuple[str, ...] = (
    "yaw",
    "roll",
    "lean",
    "side_bend",
    "head_yaw",
    "head_pitch",
    "head_roll",
    *(f"{side}_{joint}" for side in ("l", "r") for joint in SIDED),
)

# Body parts, in the order of their ids in the owner map.
PARTS: tuple[str, ...] = (
    "head",
    "neck",
    "torso",
    "l_upper_arm",
    "r_upper_arm",
    "l_forearm",
    "r_forearm",
    "l_hand",
    "r_hand",
    "l_thigh",
    "r_thigh",
    "l_shin",
    "r_shin",
    "l_foot",
    "r_foot",
)
PART_ID = {name: i for i, name in enumerate(PARTS)}


def limits(name: str) -> tuple[float, float]:
    """The limits of an angle of ANGLE_NAMES (`l_elbow` -> the elbow's)."""
    return ANGLE_LIMITS[name[2:] if name[:2] in ("l_", "r_") else name]


@dataclass(frozen=True)
class Skeleton:
    """A posed figure in body-height units, world axes (before scaling into an image).

    `joints` maps joint names (COCO keypoint names plus `neck`, `pelvis`, `head`,
    `hand_tip_*`, `toe_*`) to 3D points; `head_frame` and `torso_frame` are rotations
    (columns: left, up, forward), used to place the face, decide which side of the head
    is seen and which side of the torso faces away. `props` and `pose` made it.
    """

    joints: dict[str, np.ndarray]
    head_frame: np.ndarray
    torso_frame: np.ndarray
    props: dict[str, float]
    pose: dict[str, float]


def sample_proportions(rng: np.random.Generator) -> dict[str, float]:
    return {k: float(rng.uniform(lo, hi)) for k, (lo, hi) in PROPORTION_RANGES.items()}


def _rot(axis: int, degrees: float) -> np.ndarray:
    """Rotation about world axis 0 (x), 1 (y) or 2 (z), right-handed."""
    c, s = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
    i, j = [(1, 2), (2, 0), (0, 1)][axis]
    m = np.eye(3)
    m[i, i], m[i, j], m[j, i], m[j, j] = c, -s, s, c
    return m


DOWN = np.array([0.0, -1.0, 0.0])


def _limb(frame: np.ndarray, pose: dict[str, float], side: str, upper: bool) -> np.ndarray:
    """Rotation of an arm (upper=True) or a leg: abduct outward, flex forward, twist."""
    sign = 1.0 if side == "l" else -1.0
    abd, flex = ("shoulder_abd", "shoulder_flex") if upper else ("hip_abd", "hip_flex")
    r = frame @ _rot(2, sign * pose[f"{side}_{abd}"]) @ _rot(0, -pose[f"{side}_{flex}"])
    if upper:
        r = r @ _rot(1, sign * pose[f"{side}_arm_twist"])
    return r


def pose_skeleton(pose: dict[str, float], props: dict[str, float]) -> Skeleton:
    """Forward kinematics: joint angles (degrees) and proportions -> 3D joints."""
    p = props
    root = _rot(2, pose["roll"]) @ _rot(1, pose["yaw"])
    torso = root @ _rot(0, pose["lean"]) @ _rot(2, -pose["side_bend"])
    head = (
        torso
        @ _rot(1, pose["head_yaw"])
        @ _rot(0, -pose["head_pitch"])
        @ _rot(2, pose["head_roll"])
    )
    pelvis = np.zeros(3)
    neck = pelvis + torso[:, 1] * p["torso"]
    j: dict[str, np.ndarray] = {"pelvis": pelvis, "neck": neck}
    j["head"] = neck + torso[:, 1] * p["neck"] + head[:, 1] * p["head_r"] * 1.1
    for side, sign in (("l", 1.0), ("r", -1.0)):
        name = "left" if side == "l" else "right"
        shoulder = neck + torso @ np.array([sign * p["shoulder_w"] / 2, -0.02, 0.0])
        arm = _limb(torso, pose, side, True)
        elbow = shoulder + arm @ DOWN * p["upper_arm"]
        fore = arm @ _rot(0, -pose[f"{side}_elbow"])
        wrist = elbow + fore @ DOWN * p["forearm"]
        hip = pelvis + root[:, 0] * sign * p["hip_w"] / 2
        leg = _limb(root, pose, side, False)
        knee = hip + leg @ DOWN * p["thigh"]
        shin = leg @ _rot(0, pose[f"{side}_knee"])
        ankle = knee + shin @ DOWN * p["shin"]
        toe_dir = shin @ np.array([0.0, -0.35, 1.0]) / math.hypot(0.35, 1.0)
        j.update(
            {
                f"{name}_shoulder": shoulder,
                f"{name}_elbow": elbow,
                f"{name}_wrist": wrist,
                f"hand_tip_{side}": wrist + fore @ DOWN * p["hand"],
                f"{name}_hip": hip,
                f"{name}_knee": knee,
                f"{name}_ankle": ankle,
                f"toe_{side}": ankle + toe_dir * p["foot"],
            }
        )
    j.update(face_points(j["head"], head, p["head_r"]))
    return Skeleton(j, head, torso, dict(props), dict(pose))


# Face points in the head frame (left, up, forward) on an ellipsoid of half-width 1.
_FACE = {
    "nose": (0.0, -0.25, 1.0),
    "left_eye": (math.sin(math.radians(32)), 0.12, math.cos(math.radians(32))),
    "right_eye": (-math.sin(math.radians(32)), 0.12, math.cos(math.radians(32))),
    "left_ear": (math.sin(math.radians(100)), -0.05, math.cos(math.radians(100))),
    "right_ear": (-math.sin(math.radians(100)), -0.05, math.cos(math.radians(100))),
}
# A face point is seen when its surface normal points at least this much at the camera.
FACE_FACING = {
    "nose": -0.15,
    "left_eye": 0.05,
    "right_eye": 0.05,
    "left_ear": -0.3,
    "right_ear": -0.3,
}


def face_points(centre: np.ndarray, head: np.ndarray, r: float) -> dict[str, np.ndarray]:
    scale = np.array([0.9 * r, 1.2 * r, 0.9 * r])
    return {k: centre + head @ (np.array(v) * scale) for k, v in _FACE.items()}


def face_hidden(skel: Skeleton) -> dict[str, bool]:
    """Which face points look away from the camera (hidden by the head itself)."""
    out = {}
    for name, v in _FACE.items():
        normal = skel.head_frame @ (np.array(v) / np.linalg.norm(v))
        out[name] = bool(normal[2] < FACE_FACING[name])
    return out


MODES = ("stand", "walk", "reach", "crouch", "wild")
MODE_P = (0.25, 0.25, 0.2, 0.12, 0.18)


def angle_mode(rng: np.random.Generator, p=MODE_P) -> str:
    return str(rng.choice(MODES, p=list(p)))


def sample_pose(
    rng: np.random.Generator, mode: str | None = None, yaw: float = 180.0, modes=MODE_P
) -> dict[str, float]:
    """Joint angles within ANGLE_LIMITS: a pose family (drawn from `modes`, the
    probabilities of MODES), then noise, then clipping; the body turned within +-yaw."""
    mode = mode or angle_mode(rng, modes)
    g = rng.normal
    pose = {
        "yaw": float(rng.uniform(-yaw, yaw)),
        "roll": g(0, 8),
        "lean": g(3, 8),
        "side_bend": g(0, 6),
        "head_yaw": g(0, 25),
        "head_pitch": g(0, 10),
        "head_roll": g(0, 8),
    }
    swing = g(0, 25)
    for side, sign in (("l", 1.0), ("r", -1.0)):
        pose.update(
            {
                f"{side}_shoulder_abd": abs(g(15, 15)),
                f"{side}_shoulder_flex": g(0, 20),
                f"{side}_arm_twist": g(10, 25),
                f"{side}_elbow": abs(g(15, 25)),
                f"{side}_hip_abd": g(5, 6),
                f"{side}_hip_flex": g(0, 8),
                f"{side}_knee": abs(g(5, 8)),
            }
        )
        if mode == "walk":
            pose[f"{side}_shoulder_flex"] = sign * swing + g(0, 8)
            pose[f"{side}_hip_flex"] = -sign * swing + g(0, 8)
            pose[f"{side}_knee"] = abs(g(20, 20))
        elif mode == "reach" and rng.random() < 0.7:
            pose[f"{side}_shoulder_abd"] = rng.uniform(30, 170)
            pose[f"{side}_shoulder_flex"] = rng.uniform(-20, 150)
            pose[f"{side}_elbow"] = rng.uniform(0, 140)
        elif mode == "crouch":
            pose[f"{side}_hip_flex"] = rng.uniform(40, 115)
            pose[f"{side}_knee"] = rng.uniform(50, 145)
            pose["lean"] = rng.uniform(10, 45)
    if mode == "wild":
        for name in ANGLE_NAMES:
            if name not in ("yaw", "roll") and rng.random() < 0.5:
                pose[name] = rng.uniform(*limits(name))
    return {name: float(np.clip(pose[name], *limits(name))) for name in ANGLE_NAMES}
