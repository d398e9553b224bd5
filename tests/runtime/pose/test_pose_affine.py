"""Crop geometry: box -> centre/scale, matrix inverse, and the warped image
agreeing with the point transform to sub-pixel accuracy."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from archc.runtime.pose.affine import (
    affine_matrix,
    box_to_center_scale,
    compose_affine,
    flip_matrix,
    invert_affine,
    transform_points,
    warp_image,
)

centers = st.tuples(st.floats(-500, 1500), st.floats(-500, 1500))
scales = st.tuples(st.floats(5, 2000), st.floats(5, 2000))
rotations = st.floats(-180, 180)
sizes = st.sampled_from([(256, 192), (64, 48), (384, 288), (17, 13)])


def test_box_to_center_scale_fixes_aspect_and_pads() -> None:
    c, s = box_to_center_scale((10, 20, 30, 100), aspect_ratio=0.75)
    assert np.allclose(c, [25, 70]) and np.allclose(s, [75 * 1.25, 100 * 1.25])
    c, s = box_to_center_scale((0, 0, 120, 40), aspect_ratio=0.75, padding=1.0)
    assert np.allclose(s, [120, 160])


def test_box_corners_map_to_crop_corners() -> None:
    c, s = box_to_center_scale((10, 20, 75, 100), aspect_ratio=0.75, padding=1.0)
    m = affine_matrix(c, s, 0.0, (256, 192))
    assert np.allclose(transform_points([[10, 20], [85, 120]], m), [[0, 0], [192, 256]])
    mf = affine_matrix(c, s, 0.0, (256, 192), flip=True)
    assert np.allclose(mf, compose_affine(flip_matrix(192), m))


def test_positive_rotation_is_counter_clockwise_on_screen() -> None:
    m = affine_matrix((0, 0), (2, 2), 90.0, (2, 2))
    # A point right of the centre ends up above it (smaller y).
    assert np.allclose(transform_points([[1, 0]], m), [[1, 0]])


@settings(max_examples=60, deadline=None)
@given(centers, scales, rotations, sizes, st.booleans())
def test_inverse_round_trips_points(center, scale, rotation, size, flip) -> None:
    m = affine_matrix(center, scale, rotation, size, flip)
    pts = np.array([[0.0, 0.0], [size[1], size[0]], [3.25, 7.5]])
    back = transform_points(pts, invert_affine(m))
    assert np.allclose(transform_points(back, m), pts, atol=1e-7)
    assert np.allclose(compose_affine(m, invert_affine(m)), np.eye(2, 3), atol=1e-9)


def _blob(size: tuple[int, int], mu: tuple[float, float], sigma: float) -> Image.Image:
    h, w = size
    gx = np.exp(-((np.arange(w) + 0.5 - mu[0]) ** 2) / (2 * sigma**2))
    gy = np.exp(-((np.arange(h) + 0.5 - mu[1]) ** 2) / (2 * sigma**2))
    arr = (np.outer(gy, gx) * 255).astype(np.float32)
    return Image.fromarray(arr, mode="F")


def _centroid(img: Image.Image) -> np.ndarray:
    a = np.asarray(img, dtype=np.float64)
    ys, xs = np.mgrid[: a.shape[0], : a.shape[1]] + 0.5
    return np.array([(a * xs).sum(), (a * ys).sum()]) / a.sum()


@settings(max_examples=25, deadline=None)
@given(
    st.floats(80, 120), st.floats(80, 120), st.floats(0.6, 1.6), st.floats(-40, 40),
    st.booleans(),
)  # fmt: skip
def test_warped_image_agrees_with_point_transform(cx, cy, zoom, rotation, flip) -> None:
    """A smooth blob at a sub-pixel spot lands where transform_points says."""
    mu = (cx + 0.37, cy - 0.21)
    src = _blob((200, 200), mu, sigma=4.0)
    out = (64, 48)
    m = affine_matrix((cx, cy), (48 / zoom, 64 / zoom), rotation, out, flip)
    crop = warp_image(src, m, out, fill=0)
    expected = transform_points([mu], m)[0]
    assert np.allclose(_centroid(crop), expected, atol=0.05)
