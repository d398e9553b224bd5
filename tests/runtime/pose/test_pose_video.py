"""Video clips: T + 1 consecutive frames of one track, one shared augmentation."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from archc.runtime.pose.coco_json import PoseDataError
from archc.runtime.pose.decode import decode_heatmaps, flip_back
from archc.runtime.pose.keypoints import COCO
from archc.runtime.pose.video import VideoPoseDataset
from tests.runtime.pose.pose_fixtures import person_keypoints, write_image

FRAME_IDS = [10000, 10004, 10008, 10012, 10016]  # not steps of 1, listed shuffled below


def _posetrack(root: Path) -> Path:
    """One video, 5 frames with identical pixels. Track 7 stands still in all
    frames; track 9 walks right 6 px per frame and is missing in frame 3."""
    root.mkdir(parents=True, exist_ok=True)
    write_image(root / "frame.jpg", 0)
    rng = np.random.default_rng(0)
    still = person_keypoints(rng, (40, 30, 100, 220))
    walker = np.asarray(person_keypoints(rng, (170, 60, 90, 200))).reshape(17, 3)
    images, anns = [], []
    for pos in (3, 0, 4, 1, 2):
        image_id = 100 + pos
        shutil.copy(root / "frame.jpg", root / f"f{pos}.jpg")
        images.append({"id": image_id, "file_name": f"f{pos}.jpg", "vid_id": "000342",
                       "frame_id": FRAME_IDS[pos], "width": 320, "height": 320})  # fmt: skip
        anns.append(_ann(len(anns) + 1, image_id, 7, [40, 30, 100, 220], still))
        if pos != 3:
            moved = walker + [6 * pos, 0, 0] * (walker[:, 2:] > 0)
            box = [170 + 6 * pos, 60, 90, 200]
            anns.append(_ann(len(anns) + 1, image_id, 9, box, moved.reshape(-1).tolist()))
    anns.append(_ann(99, 100, None, [0, 0, 50, 50], still))  # no track id
    path = root / "posetrack.json"
    path.write_text(json.dumps({"images": images, "annotations": anns}))
    return path


def _ann(ann_id, image_id, track_id, box, kp) -> dict:
    ann = {"id": ann_id, "image_id": image_id, "bbox": box, "keypoints": kp, "iscrowd": 0}
    if track_id is not None:
        ann["track_id"] = track_id
    return ann


def test_clips_are_consecutive_frames_of_one_track(tmp_path: Path) -> None:
    path = _posetrack(tmp_path)
    ds = VideoPoseDataset(path, tmp_path, num_propagated=3)
    assert len(ds) == 2 and ds.skipped["no_track"] == 1
    assert ds.summary.endswith("; 1 no_track; 2 clips")
    clip_ids = [[r.image_id for r in clip] for clip in ds.clips]
    assert clip_ids == [[100, 101, 102, 103], [101, 102, 103, 104]]
    short = VideoPoseDataset(path, tmp_path, num_propagated=1)
    walker_clips = [[r.image_id for r in c] for c in short.clips if c[0].track_id == 9]
    assert walker_clips == [[100, 101], [101, 102]]  # no clip across the missing frame


def test_clip_frames_share_one_augmentation(tmp_path: Path) -> None:
    """Same pixels and same box in every frame: with one shared draw the T + 1
    crops and targets must be identical, however strong the augmentation."""
    path = _posetrack(tmp_path)
    ds = VideoPoseDataset(path, tmp_path, num_propagated=3, train=True, box="per_frame")
    rotations = set()
    for epoch in range(4):
        ds.set_epoch(epoch)
        for i in range(len(ds)):
            images, targets, weights, meta = ds[i]
            assert images.shape == (4, 3, 256, 192) and targets.shape == (4, 17, 64, 48)
            assert weights.shape == (4, 17, 1)
            for t in range(1, 4):
                assert torch.equal(images[t], images[0]) and torch.equal(targets[t], targets[0])
                assert np.array_equal(meta["matrix"][t], meta["matrix"][0])
            rotations.add(meta["rotation"])
    assert len(rotations) > 2  # the augmentation really varies between draws


def test_moving_track_gets_per_frame_targets_under_the_shared_draw(tmp_path: Path) -> None:
    path = _posetrack(tmp_path)
    ds = VideoPoseDataset(path, tmp_path, num_propagated=1, train=True, seed=3)
    for i in (i for i, c in enumerate(ds.clips) if c[0].track_id == 9):
        _, targets, _, meta = ds[i]
        assert np.array_equal(meta["matrix"][0], meta["matrix"][1])  # key-frame box
        hm = targets.numpy()
        if meta["flip"]:
            hm = flip_back(hm, COCO.flip_index)
        pred, _ = decode_heatmaps(hm, meta["center"], meta["scale"], [meta["rotation"]] * 2)
        for t, rec in enumerate(ds.clips[i]):
            vis = rec.keypoints[:, 2] > 0
            err = np.linalg.norm(pred[t] - rec.keypoints[:, :2], axis=1)[vis]
            assert err.max() <= 0.75 * meta["scale"][t, 0] / 48


def test_missing_video_fields_name_the_file(tmp_path: Path) -> None:
    path = _posetrack(tmp_path)
    data = json.loads(path.read_text())
    del data["images"][2]["vid_id"]
    path.write_text(json.dumps(data))
    with pytest.raises(PoseDataError, match=r"posetrack\.json: image id 104 has none of"):
        VideoPoseDataset(path, tmp_path)
