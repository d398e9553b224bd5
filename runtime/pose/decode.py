"""Heatmaps -> keypoints: argmax with the quarter-pixel shift, flip test, back
to image coordinates, and COCO result records. Torch-free (numpy); torch
tensors are accepted and converted.

Decoding follows SimpleBaseline / HRNet `get_final_preds`: the argmax pixel,
moved a quarter pixel toward the higher of its two neighbours on each axis
(a cheap sub-pixel estimate), score = the maximum value. Coordinates are
continuous (pixel j's centre at j + 0.5, see `affine.py`), and a heatmap
position is mapped to the image by the inverse of the same crop matrix that
made the target, so decode(encode(p)) only loses the heatmap quantisation.

One deliberate difference: HRNet's flip test shifts the flipped-back maps one
pixel right (`shift_heatmap`) because with integer pixel centres a W-wide
flip maps x to W - 1 - x in the image but j to w - 1 - j in the heatmap,
which disagree by 3/4 heatmap pixel at stride 4. In this module's
continuous coordinates both flips are exact (x -> W - x, j + 0.5 -> w - j -
0.5), so the shift would *add* a one-pixel bias; it is available as
`shift=True` only for maps from HRNet-convention models.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from archc.runtime.pose.affine import affine_matrix, invert_affine, transform_points

# HRNet `in_vis_thre`: joints scoring above this count toward the person score.
VIS_THRESHOLD = 0.2


def as_numpy(x: Any) -> np.ndarray:
    """numpy view of an array or a (possibly grad-tracking, GPU) tensor."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def get_max_preds(heatmaps: Any) -> tuple[np.ndarray, np.ndarray]:
    """Argmax pixel (x, y) indices (N, K, 2) and max values (N, K) of (N, K, H, W) maps."""
    hm = as_numpy(heatmaps)
    n, k, _, w = hm.shape
    flat = hm.reshape(n, k, -1)
    idx = flat.argmax(axis=2)
    maxvals = np.take_along_axis(flat, idx[..., None], axis=2)[..., 0]
    coords = np.stack([idx % w, idx // w], axis=-1).astype(np.float64)
    return coords, maxvals.astype(np.float64)


def quarter_offset(coords: np.ndarray, heatmaps: Any) -> np.ndarray:
    """Shift integer argmax coords 0.25 px toward the higher neighbour per axis.

    Applied where both neighbours exist (HRNet's bound `1 < px < w - 1` also
    skips px = 1, an off-by-one we do not copy).
    """
    hm = as_numpy(heatmaps).astype(np.float64)
    n, k, h, w = hm.shape
    px, py = coords[..., 0].astype(int), coords[..., 1].astype(int)
    inside = (px >= 1) & (px <= w - 2) & (py >= 1) & (py <= h - 2)
    xl, xr = np.clip(px - 1, 0, w - 1), np.clip(px + 1, 0, w - 1)
    yu, yd = np.clip(py - 1, 0, h - 1), np.clip(py + 1, 0, h - 1)
    bi, ki = np.meshgrid(np.arange(n), np.arange(k), indexing="ij")
    dx = hm[bi, ki, py, xr] - hm[bi, ki, py, xl]
    dy = hm[bi, ki, yd, px] - hm[bi, ki, yu, px]
    shift = np.stack([np.sign(dx), np.sign(dy)], axis=-1) * 0.25
    return coords + np.where(inside[..., None], shift, 0.0)


def heatmap_coords(heatmaps: Any, offset: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Continuous heatmap coordinates (N, K, 2) and scores (N, K)."""
    coords, maxvals = get_max_preds(heatmaps)
    if offset:
        coords = quarter_offset(coords, heatmaps)
    return coords + 0.5, maxvals


def flip_back(heatmaps: Any, flip_index: Sequence[int], shift: bool = False) -> np.ndarray:
    """Maps predicted on a mirrored input -> maps of the original input.

    Mirrors the width axis and swaps left/right channels (channel i takes
    channel flip_index[i]). `shift` is HRNet's one-pixel right shift; see the
    module docstring for why it is off by default.
    """
    hm = as_numpy(heatmaps)[:, list(flip_index), :, ::-1].copy()
    if shift:
        hm[..., 1:] = hm[..., :-1].copy()
    return hm


def flip_test_average(
    heatmaps: Any, flipped_heatmaps: Any, flip_index: Sequence[int], shift: bool = False
) -> np.ndarray:
    """Flip test: average the maps with the flipped-back maps of the mirrored input."""
    return 0.5 * (as_numpy(heatmaps) + flip_back(flipped_heatmaps, flip_index, shift))


def to_image_coords(
    coords: np.ndarray,
    centers: Any,
    scales: Any,
    heatmap_size: tuple[int, int],
    rotations: Any = None,
) -> np.ndarray:
    """Heatmap coordinates (N, K, 2) -> image coordinates, per crop (N, 2) centre/scale."""
    centers, scales = as_numpy(centers), as_numpy(scales)
    rotations = np.zeros(len(coords)) if rotations is None else as_numpy(rotations)
    out = np.empty_like(coords, dtype=np.float64)
    for i in range(len(coords)):
        m = affine_matrix(centers[i], scales[i], float(rotations[i]), heatmap_size)
        out[i] = transform_points(coords[i], invert_affine(m))
    return out


def decode_heatmaps(
    heatmaps: Any, centers: Any, scales: Any, rotations: Any = None, offset: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """(N, K, h, w) maps of un-flipped crops -> image keypoints (N, K, 2), scores (N, K)."""
    hm = as_numpy(heatmaps)
    coords, maxvals = heatmap_coords(hm, offset)
    return to_image_coords(coords, centers, scales, hm.shape[-2:], rotations), maxvals


def person_score(maxvals: np.ndarray, box_score: float, threshold: float = VIS_THRESHOLD) -> float:
    """HRNet's instance score: mean of the joint scores above `threshold`
    (0 when none is), times the box (detector) score."""
    good = maxvals[maxvals > threshold]
    return float(good.mean() * box_score) if good.size else 0.0


def coco_results(
    keypoints: np.ndarray,
    maxvals: np.ndarray,
    image_ids: Sequence[int],
    box_scores: Sequence[float],
    category_id: int = 1,
    threshold: float = VIS_THRESHOLD,
) -> list[dict[str, Any]]:
    """COCO keypoint result records: keypoints flat [x, y, score] * K and the
    `person_score` instance score."""
    records = []
    for kp, mv, image_id, box_score in zip(keypoints, maxvals, image_ids, box_scores, strict=True):
        flat = np.concatenate([kp, mv[:, None]], axis=1).reshape(-1)
        records.append(
            {
                "image_id": int(image_id),
                "category_id": int(category_id),
                "keypoints": [float(v) for v in flat],
                "score": person_score(mv, float(box_score), threshold),
            }
        )
    return records
