"""Short videos: a static scene with figures that move smoothly, for temporal models.

Each figure of the first frame (placed by the still-image rule) gets a track: every joint
angle follows a sinusoid through its first-frame value,

    angle(t) = c + a * sin(2 pi f t + phi),   c - a >= low and c + a <= high,

so it never leaves its limits; the body turns at a constant rate (yaw), and its position
and size change linearly. Background, clutter and occluders do not move; the camera
noise is redrawn every frame. Walking figures swing arms and legs in antiphase.
Consecutive frames differ by at most a few degrees per joint (AMPLITUDE, FREQUENCY,
YAW_RATE), which bounds how far a keypoint can move between frames.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from archc.runtime.pose.synth.body import Placed, extent
from archc.runtime.pose.synth.figure import ANGLE_NAMES, limits, pose_skeleton
from archc.runtime.pose.synth.profile import STANDARD, Profile
from archc.runtime.pose.synth.scene import (
    MIN_INSIDE,
    SceneSpec,
    background,
    camera,
    inside_fraction,
    occluder,
    place_figure,
    random_clutter,
)

# Largest amplitude (degrees) of an angle's oscillation, by angle family.
AMPLITUDE = {"roll": 4.0, "lean": 8.0, "side_bend": 5.0, "head": 15.0, "limb": 25.0}
FREQUENCY = (0.015, 0.05)  # cycles per frame
YAW_RATE = 3.0  # degrees per frame, at most
VIDEO_CUT, VIDEO_OCCLUDED = 0.6, 7 / 9  # of a still's cut and occluder probabilities
DRIFT = 0.4  # the pelvis moves at most this many body heights over a sequence
GROWTH = 0.15  # the figure's size changes by at most this fraction over a sequence


@dataclass(frozen=True)
class Track:
    """One figure's motion: `at(t)` is the figure in frame t."""

    first: Placed
    centre: dict[str, float]
    amp: dict[str, float]
    freq: dict[str, float]
    phase: dict[str, float]
    yaw_rate: float
    drift: tuple[float, float]  # pixels per frame
    growth: float  # relative size change per frame

    def pose(self, t: int) -> dict[str, float]:
        out = {
            n: self.centre[n]
            + self.amp[n] * math.sin(2 * math.pi * self.freq[n] * t + self.phase[n])
            for n in ANGLE_NAMES
        }
        out["yaw"] = (self.centre["yaw"] + self.yaw_rate * t + 180.0) % 360.0 - 180.0
        return out

    def at(self, t: int) -> Placed:
        f = self.first
        origin = (f.origin[0] + self.drift[0] * t, f.origin[1] + self.drift[1] * t)
        return replace(
            f,
            skel=pose_skeleton(self.pose(t), f.skel.props),
            scale=f.scale * (1.0 + self.growth * t),
            origin=origin,
        )


def _family(name: str) -> str:
    if name in ("roll", "lean", "side_bend"):
        return name
    return "head" if name.startswith("head") else "limb"


def _amplitude(value: float, cap: float, phase: float, lo: float, hi: float) -> float:
    """The largest amplitude <= cap keeping c +- a inside [lo, hi] with angle(0) = value."""
    s = math.sin(phase)
    a = cap
    if 1 - s > 1e-9:
        a = min(a, (hi - value) / (1 - s))
    if 1 + s > 1e-9:
        a = min(a, (value - lo) / (1 + s))
    return max(a, 0.0)


def make_track(rng: np.random.Generator, first: Placed, frames: int, size) -> Track:
    pose0 = first.skel.pose
    walk = rng.random() < 0.4
    step_f, step_phase = rng.uniform(*FREQUENCY), rng.uniform(0, 2 * math.pi)
    centre, amp, freq, phase = {}, {}, {}, {}
    for n in ANGLE_NAMES:
        f, ph = rng.uniform(*FREQUENCY), rng.uniform(0, 2 * math.pi)
        cap = AMPLITUDE.get(_family(n), 0.0) * rng.uniform(0.0, 1.0)
        if walk and n[2:] in ("shoulder_flex", "hip_flex"):
            f, cap = step_f, AMPLITUDE["limb"]
            ph = step_phase + (math.pi if (n[0] == "l") == (n[2:] == "hip_flex") else 0.0)
        a = 0.0 if n == "yaw" else _amplitude(pose0[n], cap, ph, *limits(n))
        centre[n], amp[n], freq[n], phase[n] = pose0[n] - a * math.sin(ph), a, f, ph
    h, w = size
    drift = rng.normal(0, 1, 2)
    drift *= rng.uniform(0, DRIFT) * first.scale / max(np.linalg.norm(drift), 1e-9)
    track = Track(
        first,
        centre,
        amp,
        freq,
        phase,
        float(rng.uniform(-YAW_RATE, YAW_RATE)),
        (float(drift[0] / (frames - 1)), float(drift[1] / (frames - 1))),
        float(rng.uniform(-GROWTH, GROWTH) / (frames - 1)),
    )
    last = extent(track.at(frames - 1))
    if inside_fraction(last, h, w) < MIN_INSIDE:  # keep the figure in view: no drift
        track = replace(track, drift=(0.0, 0.0))
    return track


def sample_sequence(
    rng: np.random.Generator, h: int, w: int, frames: int, profile: Profile = STANDARD
):
    """One SceneSpec per frame; `tracks` holds each drawn figure's track id. Figures that
    move must stay in view, so a video's figures are a little smaller than a still's
    (at most 0.9 and 0.75 of the height), and fewer are cut or occluded."""
    bg = background(rng, h, w, profile)
    clutter = random_clutter(rng, h, w, profile.clutter)
    boxes: list = []
    firsts = []
    for k in range(int(rng.choice(profile.persons, p=profile.person_p))):
        lo, hi = profile.first_frac if k == 0 else profile.other_frac
        frac = (lo, min(hi, 0.9 if k == 0 else 0.75))
        cut = k > 0 and rng.random() < profile.cut_p * VIDEO_CUT
        placed = place_figure(rng, h, w, frac, cut, boxes, profile)
        if placed is not None:
            firsts.append(placed)
    order = sorted(range(len(firsts)), key=lambda i: firsts[i].scale)
    tracks = [make_track(rng, firsts[i], frames, (h, w)) for i in order]
    count = (
        int(rng.integers(1, 3))
        if firsts and rng.random() < profile.occluder_p * VIDEO_OCCLUDED
        else 0
    )
    occluders = [occluder(rng, firsts[int(rng.integers(len(firsts)))]) for _ in range(count)]
    noise, gain, bias, blur, quality = camera(rng, profile)
    return [
        SceneSpec(
            bg,
            [tr.at(t) for tr in tracks],
            clutter,
            occluders,
            list(order),
            noise,
            gain,
            bias,
            blur,
            quality,
        )
        for t in range(frames)
    ]
