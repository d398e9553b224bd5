"""COCO-format dataset: skipping and counts, sample layout, augmentation that
is reproducible and geometrically right, and errors that name the file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from archc.runtime.pose.affine import transform_points
from archc.runtime.pose.augment import AugmentConfig
from archc.runtime.pose.coco_json import PoseDataError
from archc.runtime.pose.dataset import CocoPoseDataset
from archc.runtime.pose.decode import decode_heatmaps, flip_back
from archc.runtime.pose.keypoints import COCO
from tests.runtime.pose.pose_fixtures import coco_dict, write_coco


@pytest.fixture
def tiny_coco(tmp_path: Path) -> Path:
    """Path of the tiny data set's JSON (see pose_fixtures); images sit next to it."""
    return write_coco(tmp_path, coco_dict())


def test_skips_crowd_and_keypointless_persons_and_reports_them(tiny_coco: Path) -> None:
    ds = CocoPoseDataset(tiny_coco, tiny_coco.parent)
    assert len(ds) == 4
    assert ds.skipped == {"crowd": 1, "no_keypoints": 1}
    assert ds.summary == (
        "person_keypoints_tiny.json: 4 persons from 3 images; "
        "skipped 2 (1 crowd, 1 no_keypoints, 0 empty_box)"
    )
    assert [r.ann_id for r in ds.records] == [1, 2, 3, 4]


def test_sample_layout(tiny_coco: Path) -> None:
    img, target, weight, meta = CocoPoseDataset(tiny_coco, tiny_coco.parent)[1]
    assert img.shape == (3, 256, 192) and img.dtype == torch.float32
    assert target.shape == (17, 64, 48) and weight.shape == (17, 1)
    assert abs(float(img.mean())) < 2.5  # normalised, not 0..255
    assert meta["image_id"] == 2 and meta["score"] == 1.0 and meta["rotation"] == 0.0
    labelled = np.asarray(meta["joints"])[:, 2] > 0
    assert np.array_equal(weight[:, 0].numpy() > 0, labelled)
    assert np.allclose(target.amax(dim=(1, 2)).numpy(), labelled.astype(float))


def test_detection_boxes_replace_ground_truth(tiny_coco: Path) -> None:
    dets = [
        {"image_id": 1, "category_id": 1, "bbox": [50, 20, 160, 270], "score": 0.9},
        {"image_id": 2, "category_id": 1, "bbox": [40, 60, 80, 150], "score": 0.3},
        {"image_id": 2, "category_id": 1, "bbox": [0, 0, 10, 10], "score": 0.05},
    ]
    det_file = tiny_coco.parent / "dets.json"
    det_file.write_text(json.dumps(dets))
    ds = CocoPoseDataset(tiny_coco, tiny_coco.parent, det_file=det_file, det_score_threshold=0.1)
    assert len(ds) == 2
    _, _, weight, meta = ds[0]
    assert meta["score"] == pytest.approx(0.9) and float(weight.sum()) == 0.0


def _train(path: Path, seed: int = 7, **aug) -> CocoPoseDataset:
    augment = AugmentConfig(**aug) if aug else None
    return CocoPoseDataset(path, path.parent, train=True, augment=augment, seed=seed)


def test_augmentation_is_reproducible_per_seed_epoch_index(tiny_coco: Path) -> None:
    a, b = _train(tiny_coco), _train(tiny_coco)
    for i in range(len(a)):
        assert torch.equal(a[i][0], b[i][0]) and torch.equal(a[i][1], b[i][1])
    draws = [a.params_for(i) for i in range(len(a))]
    a.set_epoch(1)
    assert [a.params_for(i) for i in range(len(a))] != draws
    assert [_train(tiny_coco, seed=8).params_for(i) for i in range(len(a))] != draws


def test_augmented_targets_decode_back_to_ground_truth(tiny_coco: Path) -> None:
    """Scale, rotation and flip (with pair swap) are all undone by the decoder."""
    ds = _train(tiny_coco, scale_factor=0.3, rotation_prob=1.0, flip_prob=1.0)
    for epoch in range(3):
        ds.set_epoch(epoch)
        for i in range(len(ds)):
            _, target, _, meta = ds[i]
            hm = target.numpy()[None]
            assert meta["flip"]
            hm = flip_back(hm, COCO.flip_index)
            center, scale = meta["center"][None], meta["scale"][None]
            pred, _ = decode_heatmaps(hm, center, scale, [meta["rotation"]])
            gt = meta["joints"]
            on_map = transform_points(gt[:, :2], meta["matrix"]) / 4
            inside = (gt[:, 2] > 0) & (on_map >= 0).all(1) & (on_map < [48, 64]).all(1)
            err = np.linalg.norm(pred[0] - gt[:, :2], axis=1)[inside]
            hm_px = meta["scale"][0] / 48
            assert err.max() <= 0.5 * np.sqrt(2) * hm_px + 1e-6


# ---- loader errors name the file -------------------------------------------------


def test_missing_image_names_the_file(tmp_path: Path) -> None:
    path = write_coco(tmp_path, coco_dict())
    (tmp_path / "000002.jpg").unlink()
    ds = CocoPoseDataset(path, tmp_path)
    with pytest.raises(PoseDataError, match=r"000002\.jpg: image file not found"):
        ds[1]


@pytest.mark.parametrize("damage", ["truncate", "garbage"])
def test_corrupt_jpeg_names_the_file(tmp_path: Path, damage: str) -> None:
    path = write_coco(tmp_path, coco_dict())
    jpeg = tmp_path / "000001.jpg"
    data = jpeg.read_bytes()
    jpeg.write_bytes(data[: len(data) // 3] if damage == "truncate" else b"\xff\xd8 not a jpeg")
    with pytest.raises(PoseDataError, match=r"000001\.jpg: corrupt or unreadable image"):
        CocoPoseDataset(path, tmp_path)[0]


def test_malformed_json_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "person_keypoints_bad.json"
    path.write_text('{"images": [')
    with pytest.raises(PoseDataError, match=r"person_keypoints_bad\.json: malformed JSON"):
        CocoPoseDataset(path, tmp_path)


def test_missing_annotation_file_names_it(tmp_path: Path) -> None:
    with pytest.raises(PoseDataError, match=r"nope\.json: file not found"):
        CocoPoseDataset(tmp_path / "nope.json", tmp_path)


def test_wrong_keypoint_length_names_file_and_annotation(tmp_path: Path) -> None:
    data = coco_dict()
    data["annotations"][2]["keypoints"] = data["annotations"][2]["keypoints"][:-3]
    path = write_coco(tmp_path, data)
    with pytest.raises(PoseDataError) as err:
        CocoPoseDataset(path, tmp_path)
    assert str(err.value) == (
        f"{path}: annotation id 3: 'keypoints' has 48 values, "
        "expected 51 (x, y, v for 17 keypoints)"
    )
