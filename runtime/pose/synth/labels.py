"""COCO labels of a drawn figure: keypoints with honest visibility flags, box and area.

Visibility of keypoint k of a figure, decided from the owner map after the whole image is
drawn (see render.py):

- v=0, x=y=0: the point lies outside the image (x < 0, y < 0, x > W-1 or y > H-1);
- v=1: inside the image but hidden: at least 5 of the 9 pixels of the 3x3 window around
  it (clipped at the border) were painted, after the keypoint's own body parts, by
  something else: another part of the same figure, another figure or an occluding
  object; or it is a face point on the side of the head turned away from the camera
  (figure.face_hidden); or a shoulder/hip on a side turned away (FAR_SIDE) that the
  torso covers;
- v=2 otherwise.

A keypoint's own parts are the body parts that meet at it (body.OWN_PARTS): the elbow's
are the upper arm and the forearm, the nose's is the head. The box is the tight box of
the pixels the figure covered when it was drawn (occluded parts included, clipped to the
image); the area is the number of those pixels (COCO's segmentation area, used by OKS).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from archc.runtime.pose.keypoints import COCO
from archc.runtime.pose.synth.body import FAR_SIDE, OWN_PARTS, Placed
from archc.runtime.pose.synth.figure import face_hidden
from archc.runtime.pose.synth.render import Canvas

MAJORITY = 5  # of the 9 pixels of the 3x3 window


@dataclass(frozen=True)
class Person:
    """One annotated figure: keypoints (17 x 3: x, y, v), box (x, y, w, h), area."""

    keypoints: np.ndarray
    bbox: tuple[float, float, float, float]
    area: float
    track_id: int = -1

    @property
    def num_keypoints(self) -> int:
        return int((self.keypoints[:, 2] > 0).sum())


def silhouette(canvas: Canvas, ids: dict[str, int], box) -> tuple[tuple, float] | None:
    """Box and pixel count of a figure just after drawing it (its ids are contiguous)."""
    valid = [i for i in ids.values() if i >= 0]
    if not valid:
        return None
    x0, y0, x1, y1 = box
    j0, i0 = max(int(np.floor(x0)), 0), max(int(np.floor(y0)), 0)
    j1, i1 = min(int(np.ceil(x1)) + 1, canvas.w), min(int(np.ceil(y1)) + 1, canvas.h)
    window = canvas.owner[i0:i1, j0:j1]
    mask = (window >= min(valid)) & (window <= max(valid))
    if not mask.any():
        return None
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    bx, by = j0 + cols[0], i0 + rows[0]
    bbox = (float(bx), float(by), float(cols[-1] - cols[0] + 1), float(rows[-1] - rows[0] + 1))
    return bbox, float(mask.sum())


def own_ids(figure: Placed, ids: dict[str, int], keypoint: str) -> set[int]:
    """Owner ids that count as the keypoint itself (the far-side torso rule applied)."""
    parts = OWN_PARTS[keypoint]
    if keypoint.endswith(("_shoulder", "_hip")):
        sign = 1.0 if keypoint.startswith("left") else -1.0
        if sign * figure.skel.torso_frame[2, 0] < FAR_SIDE:
            parts = tuple(p for p in parts if p != "torso")
    return {ids[p] for p in parts if ids.get(p, -1) >= 0}


def visibility(canvas: Canvas, x: float, y: float, own: set[int]) -> int:
    """2 or 1 for a point inside the canvas, from the owner map (see module docstring)."""
    if not own:
        return 1
    i, j = round(y), round(x)
    window = canvas.owner[max(i - 1, 0) : i + 2, max(j - 1, 0) : j + 2]
    over = (window > min(own)) & ~np.isin(window, list(own))
    return 1 if int(over.sum()) >= min(MAJORITY, window.size // 2 + 1) else 2


def keypoints(canvas: Canvas, figure: Placed, ids: dict[str, int]) -> np.ndarray:
    """The 17 x 3 COCO keypoints of a drawn figure (call after everything is drawn)."""
    hidden = face_hidden(figure.skel)
    out = np.zeros((len(COCO.names), 3), np.float64)
    for k, name in enumerate(COCO.names):
        x, y = figure.xy(name)
        if not (0.0 <= x <= canvas.w - 1 and 0.0 <= y <= canvas.h - 1):
            continue
        v = 1 if hidden.get(name, False) else visibility(canvas, x, y, own_ids(figure, ids, name))
        out[k] = (x, y, v)
    return out
