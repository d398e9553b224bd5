"""Difficulty profiles of the synthetic data: what a scene may hold.

`standard` is the data set archc has always rendered: textured backgrounds, clutter
shaped like limbs, up to four persons, some cut by the border, occluders, camera noise,
persons seen from every side. It is hard enough that a small net trained for minutes on
a CPU stays near AP 0.05 (docs/data.md): right for testing a pipeline, too slow to see a
search find anything within a demo.

`quick` keeps the figures (bodies, clothes, poses, labels) and removes what makes the
task slow to generalise: plain gradient backgrounds, no clutter, no occluders, mostly one
person, always inside the image, facing the camera (no back or side views that mirror
or hide left and right), no crouching or "wild" poses, little camera noise. Calibrated
so that examples/nets/tiny.arch at a 128x96 crop passes AP 0.5 within 10 minutes on 2
CPU cores (docs/data.md has the table; bench/calibration/quick_profile.py measures it).

A profile only changes the ranges random values are drawn from, never the order of the
draws' kinds, so `standard` renders byte-identical files to the data sets before
profiles existed.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Profile:
    """The ranges a scene is drawn from (every field is a property of the data)."""

    name: str
    persons: tuple[int, ...]  # how many figures an image tries to place ...
    person_p: tuple[float, ...]  # ... with these probabilities
    first_frac: tuple[float, float]  # the first figure's height / image height
    other_frac: tuple[float, float]  # the other figures'
    cut_p: float  # probability that a later figure is placed across the border
    occluder_p: float  # probability that an image has occluding objects
    clutter: int  # at most this many clutter shapes
    backgrounds: tuple[float, float, float, float]  # p of gradient, noise, stripes, checker
    background_sat: float  # the background colours' maximum saturation
    blend_p: float  # probability of blending a second background texture
    noise: float  # the camera's pixel noise std is drawn from 0..noise
    blur_p: float  # probability of a Gaussian blur
    yaw: float  # a figure faces within +-yaw degrees of the camera
    modes: tuple[float, float, float, float, float]  # p of stand, walk, reach, crouch, wild


STANDARD = Profile(
    name="standard",
    persons=(1, 2, 3, 4),
    person_p=(0.3, 0.3, 0.22, 0.18),
    first_frac=(0.45, 0.95),
    other_frac=(0.2, 0.8),
    cut_p=0.25,
    occluder_p=0.45,
    clutter=13,
    backgrounds=(0.25, 0.35, 0.2, 0.2),
    background_sat=0.8,
    blend_p=0.5,
    noise=7.0,
    blur_p=0.15,
    yaw=180.0,
    modes=(0.25, 0.25, 0.2, 0.12, 0.18),
)

QUICK = Profile(
    name="quick",
    persons=(1, 2),
    person_p=(0.85, 0.15),
    first_frac=(0.65, 0.95),
    other_frac=(0.4, 0.8),
    cut_p=0.0,
    occluder_p=0.0,
    clutter=0,
    backgrounds=(1.0, 0.0, 0.0, 0.0),
    background_sat=0.3,
    blend_p=0.0,
    noise=2.0,
    blur_p=0.0,
    yaw=35.0,
    modes=(0.4, 0.4, 0.2, 0.0, 0.0),
)

PROFILES = {p.name: p for p in (QUICK, STANDARD)}


def profile_named(name: str) -> Profile:
    """The profile called `name`; a ValueError listing the known ones otherwise."""
    try:
        return PROFILES[name]
    except KeyError:
        known = ", ".join(sorted(PROFILES))
        raise ValueError(f"unknown data profile {name!r}; known profiles: {known}") from None
