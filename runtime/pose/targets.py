"""Training targets: Gaussian keypoint heatmaps with per-joint target weights,
and the part view of them used by PoseNFS heads. Torch-free (numpy).

Heatmaps follow SimpleBaseline / HRNet: one map per keypoint, an unnormalised
Gaussian exp(-d^2 / 2 sigma^2) whose peak is exactly 1 at the keypoint's
pixel, sigma 2 at 64x48 (scaled with the heatmap height for other sizes: 3 at
96x72, as HRNet uses). By default the centre is rounded to the nearest pixel
(HRNet's `int(mu + 0.5)`), so the peak value is exactly 1 as PoseNFS III-D
states; `subpixel=True` centres the Gaussian at the exact position instead.

Coordinates are continuous (pixel j's centre at j + 0.5; see `affine.py`).

Target weight of a joint is 1 when it is labelled (COCO v > 0) and its
Gaussian's 3-sigma window touches the map, else 0 -- HRNet's rule, which
still trains joints just outside the crop through their visible tail.

PoseNFS vector-in-pixel heads need no other target: its Eq. (6)-(7) compare
the part predictions, summed into keypoint maps, with these same Gaussians.
`part_targets` only slices them per part, for per-part diagnostics.
"""

from __future__ import annotations

import numpy as np

from archc.runtime.pose.keypoints import Parts

Size = tuple[int, int]  # (height, width)

BASE_SIGMA = 2.0
BASE_HEIGHT = 64


def default_sigma(heatmap_size: Size) -> float:
    """Sigma 2 at 64 rows, proportional to the heatmap height elsewhere."""
    return BASE_SIGMA * heatmap_size[0] / BASE_HEIGHT


def _gaussian(mu: np.ndarray, heatmap_size: Size, sigma: float) -> np.ndarray:
    """exp(-|p - mu|^2 / 2 sigma^2) at every pixel centre p; separable."""
    h, w = heatmap_size
    gx = np.exp(-((np.arange(w) + 0.5 - mu[0]) ** 2) / (2 * sigma**2))
    gy = np.exp(-((np.arange(h) + 0.5 - mu[1]) ** 2) / (2 * sigma**2))
    return np.outer(gy, gx)


def _touches_map(mu: np.ndarray, heatmap_size: Size, sigma: float) -> bool:
    h, w = heatmap_size
    r = 3 * sigma
    return bool(mu[0] + r >= 0 and mu[1] + r >= 0 and mu[0] - r < w and mu[1] - r < h)


def gaussian_heatmaps(
    joints: np.ndarray,
    heatmap_size: Size,
    sigma: float | None = None,
    subpixel: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Heatmaps (K, H, W) and target weights (K, 1), float32.

    `joints` is (K, 3): x, y in heatmap coordinates and a visibility flag
    (COCO v; > 0 means labelled). Unlabelled or off-map joints get an all-zero
    map and weight 0.
    """
    sigma = default_sigma(heatmap_size) if sigma is None else sigma
    joints = np.asarray(joints, dtype=np.float64)
    k = joints.shape[0]
    maps = np.zeros((k, *heatmap_size), dtype=np.float32)
    weights = np.zeros((k, 1), dtype=np.float32)
    for j in range(k):
        mu = joints[j, :2] if subpixel else np.floor(joints[j, :2]) + 0.5
        if joints[j, 2] <= 0 or not np.isfinite(mu).all():
            continue
        if not _touches_map(mu, heatmap_size, sigma):
            continue
        maps[j] = _gaussian(mu, heatmap_size, sigma)
        weights[j] = 1.0
    return maps, weights


def part_targets(heatmaps: np.ndarray, parts: Parts) -> list[np.ndarray]:
    """Per-part stacks of keypoint targets, e.g. for per-part losses or plots.

    `heatmaps` has keypoints on axis -3 (K, H, W or N, K, H, W); part p gets
    the maps of its keypoints in the order listed in `parts[p]`.
    """
    return [np.take(heatmaps, list(part), axis=-3) for part in parts]


def part_multiplicity(parts: Parts, num_keypoints: int) -> np.ndarray:
    """How many parts contain each keypoint (1 everywhere for a partition).

    Overlapping groupings (PoseNFS P = 8) count some joints twice; dividing
    the summed part maps by this gives the averaged variant of Eq. (7).
    """
    counts = np.zeros(num_keypoints, dtype=np.int64)
    for part in parts:
        counts[list(part)] += 1
    return counts
