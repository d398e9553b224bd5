"""Evaluation: the encode -> heatmaps -> decode -> pycocotools round trip,
pass-through ground truth, pycocotools quirks, OKS-NMS and PCKh."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from archc.runtime.pose.dataset import CocoPoseDataset
from archc.runtime.pose.decode import coco_results, decode_heatmaps
from archc.runtime.pose.evaluate import (
    KEYPOINT_METRICS,
    coco_keypoint_eval,
    head_size_from_box,
    head_size_from_keypoints,
    oks_nms,
    pckh,
)
from archc.runtime.pose.keypoints import MPII
from tests.runtime.pose.pose_fixtures import coco_dict, write_coco


@pytest.fixture
def tiny_coco(tmp_path: Path) -> Path:
    """Path of the tiny data set's JSON (see pose_fixtures); images sit next to it."""
    return write_coco(tmp_path, coco_dict())


def _gt_results(ds: CocoPoseDataset, shift: float = 0.0) -> list[dict]:
    kp = np.stack([r.keypoints for r in ds.records])
    scores = (kp[..., 2] > 0).astype(float)
    return coco_results(kp[..., :2] + shift, scores, [r.image_id for r in ds.records], [1.0] * 4)


def test_ground_truth_through_heatmaps_scores_at_least_099(tiny_coco: Path, capsys) -> None:
    ds = CocoPoseDataset(tiny_coco, tiny_coco.parent)
    items = [ds[i] for i in range(len(ds))]
    targets = np.stack([t.numpy() for _, t, _, _ in items])
    centers = np.stack([m["center"] for *_, m in items])
    scales = np.stack([m["scale"] for *_, m in items])
    kp, maxvals = decode_heatmaps(targets, centers, scales)
    image_ids = [m["image_id"] for *_, m in items]
    results = coco_results(kp, maxvals, image_ids, [m["score"] for *_, m in items])
    out = tiny_coco.parent / "out" / "results.json"
    metrics = coco_keypoint_eval(tiny_coco, results, out)
    assert tuple(metrics) == KEYPOINT_METRICS
    assert min(metrics.values()) >= 0.99, metrics
    assert json.loads(out.read_text()) == results
    assert capsys.readouterr().out == ""  # pycocotools' prints are captured


def test_ground_truth_passed_through_scores_exactly_one(tiny_coco: Path) -> None:
    ds = CocoPoseDataset(tiny_coco, tiny_coco.parent)
    results = _gt_results(ds)
    before = json.dumps(results)
    metrics = coco_keypoint_eval(json.loads(tiny_coco.read_text()), results)
    assert metrics == dict.fromkeys(KEYPOINT_METRICS, 1.0)
    assert json.dumps(results) == before  # loadRes did not mutate the caller's records


def test_wrong_predictions_score_low(tiny_coco: Path) -> None:
    ds = CocoPoseDataset(tiny_coco, tiny_coco.parent)
    assert coco_keypoint_eval(tiny_coco, _gt_results(ds, shift=25.0))["AP"] < 0.2


def test_no_predictions_score_zero_and_write_empty_list(tiny_coco: Path) -> None:
    out = tiny_coco.parent / "empty.json"
    assert coco_keypoint_eval(tiny_coco, [], out) == dict.fromkeys(KEYPOINT_METRICS, 0.0)
    assert out.read_text() == "[]"


def test_unknown_image_ids_are_reported(tiny_coco: Path) -> None:
    ds = CocoPoseDataset(tiny_coco, tiny_coco.parent)
    results = _gt_results(ds)
    results[0]["image_id"] = 99
    with pytest.raises(ValueError, match=r"not in the ground truth: \[99\]"):
        coco_keypoint_eval(tiny_coco, results)


def test_oks_nms_drops_near_duplicates_only(tiny_coco: Path) -> None:
    ds = CocoPoseDataset(tiny_coco, tiny_coco.parent)
    results = _gt_results(ds)
    dup = dict(results[0], score=0.5, keypoints=[v + 0.5 for v in results[0]["keypoints"]])
    kept = oks_nms([*results, dup], threshold=0.9, sigmas=ds.spec.sigmas)
    assert len(kept) == 4 and dup not in kept
    metrics = coco_keypoint_eval(tiny_coco, [*results, dup], oks_nms_threshold=0.9)
    assert metrics["AP"] == 1.0


def test_mpii_layout_uses_its_sigmas() -> None:
    kp = np.random.default_rng(0).uniform(50, 150, (16, 2))
    flat = np.concatenate([kp, np.full((16, 1), 2.0)], 1).reshape(-1).tolist()
    gt = {
        "images": [{"id": 1, "file_name": "a.jpg", "width": 200, "height": 200}],
        "annotations": [{"image_id": 1, "category_id": 1, "bbox": [50, 50, 100, 100],
                         "keypoints": flat}],
    }  # fmt: skip
    res = [{"image_id": 1, "category_id": 1, "keypoints": flat, "score": 1.0}]
    assert coco_keypoint_eval(gt, res, sigmas=MPII.sigmas)["AP"] == pytest.approx(1.0)


# ---- PCKh ---------------------------------------------------------------------


def test_pckh_hand_made_case() -> None:
    """Two people, head size 10: distances chosen around the 1 and 5 px cuts."""
    gt = np.zeros((2, 16, 2))
    pred = np.zeros((2, 16, 2))
    pred[0, :, 0] = 0.5  # person 0: every joint 0.5 px off -> correct at 0.1 and 0.5
    pred[1, :8, 1] = 3.0  # person 1: joints 0-7 3 px off -> correct at 0.5 only
    pred[1, 8:, 1] = 7.0  # joints 8-15 7 px off -> wrong at both
    visible = np.ones((2, 16))
    visible[1, 15] = 0  # l_wrist of person 1 unlabelled: ignored
    head = head_size_from_box([[0, 0, 10 / 0.6, 0], [0, 0, 0, 10 / 0.6]])
    assert np.allclose(head, [10, 10])
    out = pckh(pred, gt, visible, head)
    # Mean excludes pelvis (6) and thorax (7): 14 + 13 labelled joints.
    assert out["PCKh@0.5"] == pytest.approx((14 + 6) / 27)
    assert out["PCKh@0.1"] == pytest.approx(14 / 27)
    assert out["PCKh@0.5/r_ankle"] == 1.0 and out["PCKh@0.5/head_top"] == 0.5
    assert out["PCKh@0.5/l_wrist"] == 1.0 and out["PCKh@0.1/pelvis"] == 0.5


def test_head_size_from_keypoints_is_neck_to_head_top() -> None:
    kp = np.zeros((1, 16, 2))
    kp[0, MPII.index("head_top")] = [3, 4]
    assert head_size_from_keypoints(kp).tolist() == [5.0]
