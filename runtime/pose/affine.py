"""Person-crop geometry: box -> (centre, scale), the crop affine, its inverse,
point transforms and image warping. Torch-free (numpy + PIL; no OpenCV).

Conventions, chosen so that every step is exact rather than "close enough":

* Coordinates are *continuous*: pixel `i` covers [i, i + 1) and its centre is
  at i + 0.5. This is PIL's convention for `Image.transform`, and it makes the
  image -> heatmap relation an exact division by the stride (x_hm = x_in / 4)
  and a horizontal flip of a W-wide array exactly x -> W - x. (HRNet uses
  integer pixel centres, which is why it needs its one-pixel `shift_heatmap`
  fudge in the flip test; see `decode.flip_back`.)
* Sizes are (height, width), as in tensor shapes: input (256, 192), heatmap
  (64, 48).
* `scale` is the (width, height) of the crop region in *source pixels*, not
  HRNet's scale / 200 units: there is no magic constant to forget.
* `rotation` is in degrees; positive turns the crop content counter-clockwise
  as displayed (image y axis points down).
* A matrix is 2x3 and maps source points to crop points: p' = A p + t.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image

Size = tuple[int, int]  # (height, width)

PADDING = 1.25  # SimpleBaseline / HRNet: the crop is 1.25x the (aspect-fixed) box


def box_to_center_scale(
    box: Sequence[float], aspect_ratio: float, padding: float = PADDING
) -> tuple[np.ndarray, np.ndarray]:
    """COCO box (x, y, w, h) -> centre (x, y) and crop scale (w, h) in pixels.

    The box is widened or heightened to `aspect_ratio` (= input width / input
    height, 0.75 for 256x192) so the crop is never distorted, then padded by
    `padding` to keep some context around the person (SimpleBaseline's 1.25).
    """
    x, y, w, h = (float(v) for v in box)
    center = np.array([x + 0.5 * w, y + 0.5 * h], dtype=np.float64)
    if w > aspect_ratio * h:
        h = w / aspect_ratio
    else:
        w = h * aspect_ratio
    return center, np.array([w, h], dtype=np.float64) * padding


def affine_matrix(
    center: Sequence[float],
    scale: Sequence[float],
    rotation: float,
    output_size: Size,
    flip: bool = False,
) -> np.ndarray:
    """2x3 matrix taking the rotated crop region onto an (H, W) output.

    The region is `scale` (w, h) pixels centred at `center`; it is rotated by
    `rotation` degrees about its centre, scaled per axis to the output size and
    optionally mirrored in *output* space (x -> W - x). Mirroring after the
    crop is the same as flipping the source image and cropping the mirrored
    region, but keeps one matrix for image, keypoints and inverse.
    """
    out_h, out_w = output_size
    theta = np.deg2rad(rotation)
    c, s = np.cos(theta), np.sin(theta)
    rot = np.array([[c, s], [-s, c]])
    lin = np.diag([out_w / float(scale[0]), out_h / float(scale[1])]) @ rot
    if flip:
        lin = np.diag([-1.0, 1.0]) @ lin
    t = np.array([out_w / 2.0, out_h / 2.0]) - lin @ np.asarray(center, dtype=np.float64)
    return np.hstack([lin, t[:, None]])


def invert_affine(matrix: np.ndarray) -> np.ndarray:
    """Exact inverse of a 2x3 affine matrix (crop -> source)."""
    lin, t = matrix[:, :2], matrix[:, 2]
    inv = np.linalg.inv(lin)
    return np.hstack([inv, (-inv @ t)[:, None]])


def compose_affine(outer: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """Matrix of `outer(inner(p))`."""
    lin = outer[:, :2] @ inner[:, :2]
    return np.hstack([lin, (outer[:, :2] @ inner[:, 2] + outer[:, 2])[:, None]])


def transform_points(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Apply a 2x3 matrix to an (..., 2) array of points."""
    pts = np.asarray(points, dtype=np.float64)
    return pts @ matrix[:, :2].T + matrix[:, 2]


def warp_image(
    image: Image.Image,
    matrix: np.ndarray,
    output_size: Size,
    fill: float | tuple[int, ...] = (0, 0, 0),
) -> Image.Image:
    """Warp `image` by `matrix` (source -> crop) into an (H, W) PIL image.

    PIL wants the inverse map (crop pixel -> source pixel) and, like this
    module, samples at pixel centres i + 0.5, so no half-pixel correction is
    needed. Bilinear sampling; pixels from outside the source are `fill` (a
    tuple for RGB, a number for one-band images).
    """
    inv = invert_affine(matrix)
    out_h, out_w = output_size
    return image.transform(
        (out_w, out_h),
        Image.Transform.AFFINE,
        tuple(inv.reshape(-1).tolist()),
        resample=Image.Resampling.BILINEAR,
        fillcolor=fill,
    )


def flip_matrix(width: int) -> np.ndarray:
    """Horizontal mirror of a `width`-wide array in continuous coordinates."""
    return np.array([[-1.0, 0.0, float(width)], [0.0, 1.0, 0.0]])
