"""Decoding: argmax + quarter offset, the flip test, and COCO result records."""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from archc.runtime.pose.affine import flip_matrix, transform_points
from archc.runtime.pose.augment import swap_pairs
from archc.runtime.pose.decode import (
    coco_results,
    flip_back,
    flip_test_average,
    get_max_preds,
    heatmap_coords,
    person_score,
)
from archc.runtime.pose.keypoints import COCO
from archc.runtime.pose.targets import gaussian_heatmaps


def test_argmax_and_quarter_offset_toward_higher_neighbour() -> None:
    hm = np.zeros((1, 3, 8, 6))
    hm[0, 0, 5, 2], hm[0, 0, 5, 3], hm[0, 0, 4, 2] = 1.0, 0.5, 0.2  # right and up higher
    hm[0, 1, 0, 0] = 0.7  # corner: no neighbours on one side, no offset
    coords, maxvals = get_max_preds(torch.from_numpy(hm))
    assert np.array_equal(coords[0, :2], [[2, 5], [0, 0]])
    assert np.allclose(maxvals[0], [1.0, 0.7, 0.0])
    cont, _ = heatmap_coords(hm)
    assert np.allclose(cont[0, 0], [2 + 0.25 + 0.5, 5 - 0.25 + 0.5])
    assert np.allclose(cont[0, 1], [0.5, 0.5])


@settings(max_examples=30, deadline=None)
@given(arrays(np.float32, (2, 17, 6, 5), elements=st.floats(0, 1, width=32)))
def test_flip_back_twice_is_identity(hm: np.ndarray) -> None:
    once = flip_back(hm, COCO.flip_index)
    assert not np.shares_memory(once, hm)
    assert np.array_equal(flip_back(once, COCO.flip_index), hm)


def _mirrored_pair(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Target maps of a pose and of the same pose on the mirrored crop."""
    size = (64, 48)
    joints = np.concatenate([rng.uniform([2, 2], [46, 62], (17, 2)), np.full((17, 1), 2.0)], 1)
    mirrored = joints.copy()
    mirrored[:, :2] = transform_points(joints[:, :2], flip_matrix(48))
    mirrored = swap_pairs(mirrored, COCO.flip_index)
    return gaussian_heatmaps(joints, size)[0][None], gaussian_heatmaps(mirrored, size)[0][None]


def test_flip_test_of_a_mirrored_pair_gives_the_original_maps() -> None:
    """In continuous coordinates flipping back is exact: no HRNet shift needed."""
    hm, hm_flipped = _mirrored_pair(np.random.default_rng(0))
    assert np.array_equal(flip_back(hm_flipped, COCO.flip_index), hm)
    assert np.allclose(flip_test_average(hm, hm_flipped, COCO.flip_index), hm)
    # HRNet's shift would bias every decoded x to the right (here by 1/4 pixel).
    shifted = flip_test_average(hm, hm_flipped, COCO.flip_index, shift=True)
    delta = heatmap_coords(shifted)[0] - heatmap_coords(hm)[0]
    assert np.allclose(delta[..., 0], 0.25) and np.allclose(delta[..., 1], 0.0)


def test_flip_test_is_symmetric_in_its_arguments() -> None:
    """Averaging (a, flip(b)) equals flip of averaging (b, flip(a))."""
    rng = np.random.default_rng(1)
    a, b = rng.random((2, 1, 17, 8, 6))
    ab = flip_test_average(a, b, COCO.flip_index)
    ba = flip_test_average(b, a, COCO.flip_index)
    assert np.allclose(flip_back(ba, COCO.flip_index), ab)


def test_person_score_is_mean_of_confident_joints_times_box_score() -> None:
    mv = np.array([0.1, 0.5, 0.9, 0.2])
    assert person_score(mv, 0.5) == np.float64(0.5 * (0.5 + 0.9) / 2)
    assert person_score(np.zeros(4), 1.0) == 0.0


def test_coco_results_records() -> None:
    kp = np.arange(2 * 17 * 2, dtype=float).reshape(2, 17, 2)
    mv = np.full((2, 17), 0.8)
    recs = coco_results(kp, mv, [5, 6], [1.0, 0.5])
    assert [r["image_id"] for r in recs] == [5, 6]
    assert recs[0]["category_id"] == 1 and len(recs[0]["keypoints"]) == 51
    assert recs[0]["keypoints"][:3] == [0.0, 1.0, 0.8]
    assert np.isclose(recs[1]["score"], 0.4)
