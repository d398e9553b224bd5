"""Whole images: textured background, clutter, 1-4 figures, occluders, camera noise.

A scene is sampled (`sample_scene`) and then drawn (`render_scene`); the split lets a
video keep its background, clutter and occluders while the figures move (video.py), and
lets tests build scenes by hand. Drawing order: background, clutter, figures from the
smallest (farthest) to the largest, then occluding objects in front of everything.

Placement rule (what makes every drawn figure an annotated person): a figure is kept only
when at least MIN_INSIDE of its box lies inside the image and its box overlaps every
earlier figure's box by at most MAX_IOU; otherwise it is placed again (and dropped after
a few attempts, so it is never drawn). Some figures after the first are placed across
the image border on purpose: cut off, still annotated, their outside keypoints v=0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter

from archc.runtime.pose.synth.body import Placed, draw_figure, extent, hsv, sample_style
from archc.runtime.pose.synth.figure import pose_skeleton, sample_pose, sample_proportions
from archc.runtime.pose.synth.labels import Person, keypoints, silhouette
from archc.runtime.pose.synth.profile import STANDARD, Profile
from archc.runtime.pose.synth.render import CLUTTER, OCCLUDER, Canvas

MIN_INSIDE, MAX_IOU = 0.55, 0.3


@dataclass(frozen=True)
class Shape:
    """A clutter or occluder primitive: `capsule` (a, b; r), `ellipse` (centre; rx, ry,
    angle) or `polygon` (vertices)."""

    kind: str
    points: tuple
    size: tuple
    colour: tuple
    shade: bool = True


@dataclass
class SceneSpec:
    background: np.ndarray  # H x W x 3 float32, 0..255
    figures: list[Placed]  # in drawing order
    clutter: list[Shape]
    occluders: list[Shape]
    tracks: list[int] | None = None  # track id per figure (videos)
    noise: float = 0.0  # std of the pixel noise
    gain: float = 1.0  # contrast
    bias: float = 0.0  # brightness
    blur: float = 0.0  # Gaussian blur radius (0: none)
    quality: int = 90  # JPEG quality the writer uses

    @property
    def size(self) -> tuple[int, int]:
        return self.background.shape[0], self.background.shape[1]


def _smooth_noise(rng: np.random.Generator, h: int, w: int, cells: int) -> np.ndarray:
    """Colour noise on a cells x cells grid, smoothly upsampled to h x w (0..255)."""
    small = rng.uniform(0, 255, size=(cells, max(2, cells * w // h), 3)).astype(np.uint8)
    return np.asarray(Image.fromarray(small).resize((w, h), Image.BICUBIC), np.float32)


def background(rng: np.random.Generator, h: int, w: int, profile: Profile = STANDARD) -> np.ndarray:
    """Random texture: gradient, noise, stripes or checker, maybe blended, unevenly lit."""
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)

    def layer(kind: str) -> np.ndarray:
        sat = (0.0, profile.background_sat)
        c1, c2 = hsv(rng, sat=sat), hsv(rng, sat=sat)
        theta = rng.uniform(0, np.pi)
        along = xs * np.cos(theta) + ys * np.sin(theta)
        if kind == "noise":
            return _smooth_noise(rng, h, w, int(rng.integers(2, 24)))
        if kind == "gradient":
            t = (along - along.min()) / max(float(np.ptp(along)), 1.0)
        elif kind == "stripes":
            t = 0.5 + 0.5 * np.sin(along * (2 * np.pi / rng.uniform(4, 48)))
            t = t if rng.random() < 0.5 else (t > 0.5).astype(np.float32)
        else:  # checker
            cell = rng.uniform(6, 48)
            across = -xs * np.sin(theta) + ys * np.cos(theta)
            t = ((np.floor(along / cell) + np.floor(across / cell)) % 2).astype(np.float32)
        return c1 + t[..., None] * (c2 - c1)

    kinds = ["gradient", "noise", "stripes", "checker"]
    img = layer(str(rng.choice(kinds, p=list(profile.backgrounds))))
    if rng.random() < profile.blend_p:
        a = rng.uniform(0.2, 0.6)
        img = (1 - a) * img + a * layer(str(rng.choice(kinds)))
    light = 0.65 + 0.7 * _smooth_noise(rng, h, w, 3)[..., :1] / 255
    return np.clip(img * light, 0, 255).astype(np.float32)


def random_shape(rng: np.random.Generator, centre, size: float) -> Shape:
    """A rectangle, ellipse, rod (limb-like) or triangle of about `size` pixels."""
    kind = str(rng.choice(["rect", "ellipse", "rod", "triangle"], p=[0.3, 0.25, 0.3, 0.15]))
    colour = tuple(float(c) for c in hsv(rng))
    shade = bool(rng.random() < 0.6)
    cx, cy = centre
    angle = rng.uniform(0, np.pi)
    if kind == "ellipse":
        return Shape(
            "ellipse",
            ((cx, cy),),
            (size * rng.uniform(0.2, 0.6), size * rng.uniform(0.2, 0.6), angle),
            colour,
            shade,
        )
    if kind == "rod":
        half = size * rng.uniform(0.3, 0.8)
        d = (half * np.cos(angle), half * np.sin(angle))
        return Shape(
            "capsule",
            ((cx - d[0], cy - d[1]), (cx + d[0], cy + d[1])),
            (size * rng.uniform(0.04, 0.15),),
            colour,
            shade,
        )
    corners = 4 if kind == "rect" else 3
    if corners == 4:
        a, b = size * rng.uniform(0.15, 0.6), size * rng.uniform(0.15, 0.6)
        local = np.array([[-a, -b], [a, -b], [a, b], [-a, b]])
    else:
        local = rng.uniform(-0.6, 0.6, size=(3, 2)) * size
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    pts = local @ rot.T + np.array([cx, cy])
    return Shape("polygon", tuple(map(tuple, pts)), (), colour, shade)


def draw_shape(canvas: Canvas, shape: Shape, tag) -> int:
    if shape.kind == "capsule":
        return canvas.capsule(*shape.points, shape.size[0], shape.colour, tag, shape.shade)
    if shape.kind == "ellipse":
        return canvas.ellipse(shape.points[0], *shape.size, shape.colour, tag, shape.shade)
    return canvas.polygon(np.array(shape.points), shape.colour, tag)


def _iou(a, b) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    area = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1])
    return inter / (area - inter)


def inside_fraction(box, h: int, w: int) -> float:
    x0, y0, x1, y1 = box
    iw = max(0.0, min(x1, w - 1) - max(x0, 0.0))
    ih = max(0.0, min(y1, h - 1) - max(y0, 0.0))
    return iw * ih / max((x1 - x0) * (y1 - y0), 1e-9)


def place_figure(
    rng,
    h: int,
    w: int,
    frac: tuple[float, float],
    cut: bool,
    others: list,
    profile: Profile = STANDARD,
    attempts: int = 12,
) -> Placed | None:
    """A random figure of height frac*H placed by the placement rule, or None."""
    props, style = sample_proportions(rng), sample_style(rng)
    for _ in range(attempts):
        skel = pose_skeleton(sample_pose(rng, yaw=profile.yaw, modes=profile.modes), props)
        scale = rng.uniform(*frac) * h
        x0, y0, x1, y1 = extent(Placed(skel, scale, (0.0, 0.0), style))
        bw, bh = x1 - x0, y1 - y0
        slack = 0.45 if cut else 0.0
        lo_x, hi_x = -x0 - slack * bw, w - 1 - x1 + slack * bw
        lo_y, hi_y = -y0 - slack * bh, h - 1 - y1 + slack * bh
        if lo_x > hi_x or lo_y > hi_y:
            frac = (frac[0] * 0.8, frac[1] * 0.8)
            continue
        ox, oy = rng.uniform(lo_x, hi_x), rng.uniform(lo_y, hi_y)
        box = (x0 + ox, y0 + oy, x1 + ox, y1 + oy)
        if inside_fraction(box, h, w) < MIN_INSIDE or any(_iou(box, b) > MAX_IOU for b in others):
            continue
        others.append(box)
        return Placed(skel, scale, (float(ox), float(oy)), style)
    return None


def random_clutter(rng: np.random.Generator, h: int, w: int, most: int = STANDARD.clutter) -> list:
    """Up to `most` random shapes anywhere in the image (behind or among the figures)."""
    return [
        random_shape(
            rng, (rng.uniform(0, w), rng.uniform(0, h)), rng.uniform(0.05, 0.45) * min(h, w)
        )
        for _ in range(int(rng.integers(0, most + 1)))
    ]


def sample_scene(
    rng: np.random.Generator, h: int, w: int, profile: Profile = STANDARD
) -> SceneSpec:
    """A random still image: the recipe, not yet drawn."""
    bg = background(rng, h, w, profile)
    clutter = random_clutter(rng, h, w, profile.clutter)
    boxes: list = []
    figures = []
    for k in range(int(rng.choice(profile.persons, p=profile.person_p))):
        frac = profile.first_frac if k == 0 else profile.other_frac
        cut = k > 0 and rng.random() < profile.cut_p
        placed = place_figure(rng, h, w, frac, cut, boxes, profile)
        if placed is not None:
            figures.append(placed)
    figures.sort(key=lambda f: f.scale)
    count = int(rng.integers(1, 3)) if figures and rng.random() < profile.occluder_p else 0
    occluders = [occluder(rng, figures[int(rng.integers(len(figures)))]) for _ in range(count)]
    return SceneSpec(bg, figures, clutter, occluders, None, *camera(rng, profile))


def occluder(rng: np.random.Generator, f: Placed) -> Shape:
    """An object in front of figure `f`, near one of its joints."""
    names = sorted(f.skel.joints)
    at = f.xy(names[int(rng.integers(len(names)))]) + rng.normal(0, 0.08 * f.scale, 2)
    return random_shape(rng, at, rng.uniform(0.15, 0.5) * f.scale)


def camera(rng: np.random.Generator, profile: Profile = STANDARD) -> tuple:
    """(noise, gain, bias, blur, quality) of the simulated camera."""
    blur = rng.uniform(0.5, 1.2) if rng.random() < profile.blur_p else 0.0
    return (
        float(rng.uniform(0, profile.noise)),
        float(rng.uniform(0.75, 1.15)),
        float(rng.uniform(-20, 20)),
        float(blur),
        int(rng.integers(80, 96)),
    )


def render_scene(spec: SceneSpec, rng: np.random.Generator) -> tuple[np.ndarray, list[Person]]:
    """Draw the scene: an H x W x 3 uint8 image and one Person per figure."""
    h, w = spec.size
    canvas = Canvas(h, w, spec.background.copy())
    for shape in spec.clutter:
        draw_shape(canvas, shape, CLUTTER)
    drawn = []
    for index, figure in enumerate(spec.figures):
        ids = draw_figure(canvas, figure, index)
        drawn.append((figure, ids, silhouette(canvas, ids, extent(figure))))
    for shape in spec.occluders:
        draw_shape(canvas, shape, OCCLUDER)
    persons = []
    for index, (figure, ids, sil) in enumerate(drawn):
        if sil is None:
            continue
        track = spec.tracks[index] if spec.tracks is not None else -1
        persons.append(Person(keypoints(canvas, figure, ids), sil[0], sil[1], track))
    img = canvas.image * spec.gain + (spec.bias + 128 * (1 - spec.gain))
    if spec.noise > 0:
        img += rng.standard_normal(img.shape, dtype=np.float32) * spec.noise
    out = np.clip(img, 0, 255).astype(np.uint8)
    if spec.blur > 0:
        out = np.asarray(Image.fromarray(out).filter(ImageFilter.GaussianBlur(spec.blur)))
    return out, persons
