"""A posed figure in an image: clothing, projection to pixels, and drawing back to front.

The skeleton (figure.py) is projected orthographically: x_img = x + s*X, y_img = y - s*Y,
with `s` pixels per body height. Each body part is drawn as one primitive (shaded capsules
for limbs, neck, hands and feet; a convex polygon for the torso; a two-tone ellipse for the
head, skin in front and hair behind, so the way a figure faces can be seen). Parts are
drawn in order of their depth, so a far arm goes behind the torso and a near one in front
of it, and the owner map records which part is on top at every pixel.
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass

import numpy as np

from archc.runtime.pose.synth.figure import PARTS, Skeleton, face_hidden
from archc.runtime.pose.synth.render import Canvas, head_shading

# Small biases break depth ties: head over torso, arms over legs, hands over forearms.
_BIAS = {"torso": 0.0, "neck": -0.005, "head": 0.02}
_BIAS.update(
    {
        f"{s}_{p}": b
        for s in "lr"
        for p, b in (
            ("thigh", 0.001),
            ("shin", 0.002),
            ("foot", 0.003),
            ("upper_arm", 0.004),
            ("forearm", 0.005),
            ("hand", 0.006),
        )
    }
)

# The parts whose pixels count as "the keypoint itself" (not an occluder).
OWN_PARTS: dict[str, tuple[str, ...]] = {
    "nose": ("head",),
    "left_eye": ("head",),
    "right_eye": ("head",),
    "left_ear": ("head",),
    "right_ear": ("head",),
}
for _side, _name in (("l", "left"), ("r", "right")):
    OWN_PARTS.update(
        {
            f"{_name}_shoulder": ("torso", f"{_side}_upper_arm"),
            f"{_name}_elbow": (f"{_side}_upper_arm", f"{_side}_forearm"),
            f"{_name}_wrist": (f"{_side}_forearm", f"{_side}_hand"),
            f"{_name}_hip": ("torso", f"{_side}_thigh"),
            f"{_name}_knee": (f"{_side}_thigh", f"{_side}_shin"),
            f"{_name}_ankle": (f"{_side}_shin", f"{_side}_foot"),
        }
    )
# A shoulder or hip on a side turned this far from the camera is hidden by the torso.
FAR_SIDE = -0.5


def hsv(rng: np.random.Generator, sat=(0.15, 0.9), val=(0.2, 0.95), hue=(0.0, 1.0)):
    h, s, v = rng.uniform(*hue), rng.uniform(*sat), rng.uniform(*val)
    return np.array(colorsys.hsv_to_rgb(h, s, v), np.float32) * 255


@dataclass(frozen=True)
class Style:
    skin: np.ndarray
    hair: np.ndarray
    shirt: np.ndarray
    pants: np.ndarray
    shoes: np.ndarray
    long_sleeves: bool
    long_pants: bool
    stripes: tuple | None  # (period in body heights, second colour) on the shirt


def sample_style(rng: np.random.Generator) -> Style:
    skin = hsv(rng, sat=(0.25, 0.6), val=(0.3, 0.95), hue=(0.03, 0.1))
    stripes = (rng.uniform(0.03, 0.08), hsv(rng)) if rng.random() < 0.25 else None
    return Style(
        skin=skin,
        hair=hsv(rng, sat=(0.1, 0.7), val=(0.05, 0.6), hue=(0.0, 0.15)),
        shirt=hsv(rng),
        pants=hsv(rng, val=(0.1, 0.8)),
        shoes=hsv(rng, val=(0.05, 0.5)),
        long_sleeves=bool(rng.random() < 0.5),
        long_pants=bool(rng.random() < 0.7),
        stripes=stripes,
    )


@dataclass(frozen=True)
class Placed:
    """A skeleton in pixels: 2D points, camera depths, and its clothes."""

    skel: Skeleton
    scale: float  # pixels per body height
    origin: tuple[float, float]  # the pelvis in pixels
    style: Style

    def xy(self, joint: str) -> np.ndarray:
        p = self.skel.joints[joint]
        return np.array([self.origin[0] + self.scale * p[0], self.origin[1] - self.scale * p[1]])

    def z(self, joint: str) -> float:
        return float(self.skel.joints[joint][2])

    def px(self, prop: str) -> float:
        return self.skel.props[prop] * self.scale


_LIMBS = {  # part: (from joint, to joint, radius prop, radius factor)
    "upper_arm": ("{n}_shoulder", "{n}_elbow", "arm_r", 1.0),
    "forearm": ("{n}_elbow", "{n}_wrist", "forearm_r", 1.0),
    "hand": ("{n}_wrist", "hand_tip_{s}", "forearm_r", 1.1),
    "thigh": ("{n}_hip", "{n}_knee", "thigh_r", 1.0),
    "shin": ("{n}_knee", "{n}_ankle", "shin_r", 1.0),
    "foot": ("{n}_ankle", "toe_{s}", "shin_r", 0.8),
}


def _colour(style: Style, part: str) -> np.ndarray:
    kind = part[2:] if part[1] == "_" else part
    if kind in ("hand", "neck"):
        return style.skin
    if kind == "upper_arm" or (kind == "forearm" and style.long_sleeves):
        return style.shirt
    if kind == "thigh" or (kind == "shin" and style.long_pants):
        return style.pants
    return style.shoes if kind == "foot" else style.skin


def _torso_points(f: Placed) -> np.ndarray:
    sk, p = f.skel, f.skel.props
    left, fwd = sk.torso_frame[:, 0], sk.torso_frame[:, 2]
    pts = []
    for base, half in (
        (sk.joints["neck"] - 0.01 * sk.torso_frame[:, 1], p["shoulder_w"] / 2 + 0.6 * p["arm_r"]),
        (sk.joints["pelvis"] - 0.02 * sk.torso_frame[:, 1], p["hip_w"] / 2 + 0.7 * p["thigh_r"]),
    ):
        for a in (-1, 1):
            for b in (-1, 1):
                q = base + a * half * left + b * p["depth_w"] / 2 * fwd
                pts.append((f.origin[0] + f.scale * q[0], f.origin[1] - f.scale * q[1]))
    return np.array(pts)


def draw_order(f: Placed) -> list[str]:
    """Parts from back to front, by the camera depth of their middle."""

    def depth(part: str) -> float:
        if part == "torso":
            z = (f.z("neck") + f.z("pelvis")) / 2
        elif part in ("head", "neck"):
            z = f.z(part)
        else:
            a, b, _, _ = _LIMBS[part[2:]]
            n, s = ("left" if part[0] == "l" else "right"), part[0]
            z = (f.z(a.format(n=n, s=s)) + f.z(b.format(n=n, s=s))) / 2
        return z + _BIAS[part]

    return sorted(PARTS, key=depth)


def draw_figure(canvas: Canvas, f: Placed, index: int) -> dict[str, int]:
    """Draw figure number `index`; returns each part's owner id on the canvas."""
    ids: dict[str, int] = {}
    for part in draw_order(f):
        tag = (index, PARTS.index(part))
        if part == "head":
            hf = f.skel.head_frame
            angle = float(np.arctan2(hf[0, 1], hf[1, 1]))
            ids[part] = head_shading(
                canvas, f.xy("head"), f.px("head_r"), angle, hf, f.style.skin, f.style.hair, tag
            )
            _draw_eyes(canvas, f)
        elif part == "neck":
            ids[part] = canvas.capsule(
                f.xy("neck"), f.xy("head"), 0.45 * f.px("head_r"), f.style.skin, tag
            )
        elif part == "torso":
            axis = f.xy("neck") - f.xy("pelvis")
            stripes = None
            if f.style.stripes is not None:
                stripes = (max(f.style.stripes[0] * f.scale, 2.0), f.style.stripes[1])
            ids[part] = canvas.polygon(_torso_points(f), f.style.shirt, tag, axis, stripes)
        else:
            a, b, prop, k = _LIMBS[part[2:]]
            n, s = ("left" if part[0] == "l" else "right"), part[0]
            ids[part] = canvas.capsule(
                f.xy(a.format(n=n, s=s)),
                f.xy(b.format(n=n, s=s)),
                k * f.px(prop),
                _colour(f.style, part),
                tag,
            )
    return ids


def _draw_eyes(canvas: Canvas, f: Placed) -> None:
    hidden = face_hidden(f.skel)
    r = max(0.6, 0.14 * f.px("head_r"))
    for eye in ("left_eye", "right_eye"):
        if not hidden[eye]:
            canvas.capsule(f.xy(eye), f.xy(eye), r, (25.0, 20.0, 20.0), tag=None, shade=False)
    if not hidden["nose"]:
        canvas.capsule(f.xy("nose"), f.xy("nose"), 1.3 * r, f.style.skin * 0.8, tag=None)


def extent(f: Placed) -> tuple[float, float, float, float]:
    """A box (x0, y0, x1, y1) around everything the figure draws, in pixels."""
    pts = [_torso_points(f)]
    r = f.px("thigh_r") + 1
    for name in f.skel.joints:
        pts.append(f.xy(name)[None] + np.array([[-r, -r], [r, r]]))
    hr = 1.25 * f.px("head_r") + 1
    pts.append(f.xy("head")[None] + np.array([[-hr, -hr], [hr, hr]]))
    allp = np.concatenate(pts)
    x0, y0 = allp.min(0)
    x1, y1 = allp.max(0)
    return float(x0), float(y0), float(x1), float(y1)
