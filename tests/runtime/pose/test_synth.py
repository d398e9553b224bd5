"""Synthetic pose data: determinism, COCO validity and honest visibility flags.

Visibility is checked on scenes built by hand (plain background, figures at known
places, an occluder put over one keypoint), so each flag has a known right answer.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
from pathlib import Path

import numpy as np
import pytest
from pycocotools.coco import COCO as CocoApi
from pycocotools.cocoeval import COCOeval

from archc.runtime.pose.keypoints import COCO
from archc.runtime.pose.synth import render_still, synthesize
from archc.runtime.pose.synth.body import Placed, sample_style
from archc.runtime.pose.synth.figure import ANGLE_NAMES, pose_skeleton, sample_proportions
from archc.runtime.pose.synth.scene import SceneSpec, Shape, render_scene
from archc.runtime.pose.synth.writer import write_json_atomic

SIZE = (128, 160)
K = {name: i for i, name in enumerate(COCO.names)}


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("synth")
    synthesize(out, 6, 3, size=SIZE, seed=7, workers=1)
    return out


def test_same_seed_gives_identical_files_whatever_the_workers(dataset: Path, tmp_path) -> None:
    synthesize(tmp_path / "b", 6, 3, size=SIZE, seed=7, workers=2)
    assert _files(dataset) == _files(tmp_path / "b")
    assert len(_files(dataset)) == 2 + 6 + 3


def test_another_seed_gives_other_data(dataset: Path, tmp_path) -> None:
    synthesize(tmp_path / "c", 6, 3, size=SIZE, seed=8, workers=1)
    name = "annotations/person_keypoints_train.json"
    assert _files(dataset)[name] != _files(tmp_path / "c")[name]


def test_an_image_depends_only_on_seed_split_and_index() -> None:
    a, pa, _ = render_still(3, "train", 5, SIZE)
    b, pb, _ = render_still(3, "train", 5, SIZE)
    assert np.array_equal(a, b)
    assert all(np.array_equal(p.keypoints, q.keypoints) for p, q in zip(pa, pb, strict=True))
    for other in ((4, "train", 5), (3, "val", 5), (3, "train", 6)):
        assert not np.array_equal(a, render_still(*other, SIZE)[0])


def test_json_is_valid_coco_keypoints(dataset: Path) -> None:
    for split, n in (("train", 6), ("val", 3)):
        path = dataset / "annotations" / f"person_keypoints_{split}.json"
        with contextlib.redirect_stdout(io.StringIO()):
            api = CocoApi(str(path))
        assert len(api.imgs) == n and api.anns
        cat = api.cats[1]
        assert cat["name"] == "person" and cat["keypoints"] == list(COCO.names)
        assert cat["skeleton"] == [[a + 1, b + 1] for a, b in COCO.skeleton]
        for img in api.imgs.values():
            assert (dataset / "images" / split / img["file_name"]).is_file()
            assert (img["height"], img["width"]) == SIZE
        for ann in api.anns.values():
            _check_annotation(ann, api.imgs[ann["image_id"]])


def _check_annotation(ann: dict, img: dict) -> None:
    kp = np.array(ann["keypoints"], float).reshape(17, 3)
    assert len(ann["keypoints"]) == 51 and ann["category_id"] == 1 and ann["iscrowd"] == 0
    assert ann["num_keypoints"] == int((kp[:, 2] > 0).sum()) > 0
    assert set(kp[:, 2]) <= {0, 1, 2}
    assert (kp[kp[:, 2] == 0, :2] == 0).all()
    seen = kp[kp[:, 2] > 0]
    assert (seen[:, 0] >= 0).all() and (seen[:, 0] <= img["width"] - 1).all()
    assert (seen[:, 1] >= 0).all() and (seen[:, 1] <= img["height"] - 1).all()
    x, y, w, h = ann["bbox"]
    assert x >= 0 and y >= 0 and w > 0 and h > 0
    assert x + w <= img["width"] and y + h <= img["height"]
    assert 0 < ann["area"] <= w * h


def test_perfect_predictions_score_ap_one(dataset: Path) -> None:
    """pycocotools' keypoint evaluation accepts the files (it needs `area`)."""
    path = dataset / "annotations" / "person_keypoints_train.json"
    with contextlib.redirect_stdout(io.StringIO()):
        gt = CocoApi(str(path))
        results = [
            {"image_id": a["image_id"], "category_id": 1, "score": 1.0, "keypoints": a["keypoints"]}
            for a in gt.anns.values()
        ]
        ev = COCOeval(gt, gt.loadRes(copy.deepcopy(results)), "keypoints")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    assert ev.stats[0] == pytest.approx(1.0)


def test_json_written_atomically(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    write_json_atomic(path, {"ok": 1})
    with pytest.raises(TypeError):
        write_json_atomic(path, {"bad": object()})
    assert json.loads(path.read_text()) == {"ok": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]


# ---- visibility on hand-built scenes ----------------------------------------------------


def _figure(x: float, y: float, scale: float = 100.0, seed: int = 0, **angles) -> Placed:
    rng = np.random.default_rng(seed)
    pose = (
        {name: 0.0 for name in ANGLE_NAMES}
        | {"l_shoulder_abd": 20.0, "r_shoulder_abd": 20.0}
        | angles
    )
    return Placed(pose_skeleton(pose, sample_proportions(rng)), scale, (x, y), sample_style(rng))


def _render(figures, occluders=(), size=(160, 200)):
    spec = SceneSpec(np.full((*size, 3), 128, np.float32), list(figures), [], list(occluders))
    return render_scene(spec, np.random.default_rng(0))


def _square(centre, half: float) -> Shape:
    cx, cy = centre
    return Shape(
        "polygon",
        (
            (cx - half, cy - half),
            (cx + half, cy - half),
            (cx + half, cy + half),
            (cx - half, cy + half),
        ),
        (),
        (0, 0, 255),
    )


def test_a_figure_in_the_open_is_fully_visible() -> None:
    _, (person,) = _render([_figure(100, 80)])
    assert person.keypoints[:, 2].tolist() == [2] * 17
    _, _, w, h = person.bbox
    assert 40 < w < 80 and 90 < h < 110 and person.area < w * h


def test_a_covered_keypoint_is_occluded_and_the_others_are_not() -> None:
    fig = _figure(100, 80)
    _, (person,) = _render([fig], [_square(fig.xy("left_wrist"), 4)])
    v = person.keypoints[:, 2]
    assert v[K["left_wrist"]] == 1
    assert v[K["right_wrist"]] == 2 and v[K["left_elbow"]] == 2
    assert np.allclose(person.keypoints[K["left_wrist"], :2], fig.xy("left_wrist"))


def test_keypoints_outside_the_image_have_v0_and_zero_coordinates() -> None:
    _, (person,) = _render([_figure(100, 150)])  # the legs hang below the image
    kp = person.keypoints
    for name in ("left_ankle", "right_ankle", "left_knee", "right_knee"):
        assert kp[K[name]].tolist() == [0, 0, 0]
    assert kp[K["nose"], 2] == 2 and person.bbox[1] + person.bbox[3] <= 160


def test_a_figure_in_front_occludes_the_one_behind() -> None:
    back = _figure(100, 80, scale=70)
    front = _figure(0, 0, scale=110, seed=1)  # its left hand goes over the back one's nose
    hand = (front.xy("left_wrist") + front.xy("hand_tip_l")) / 2
    nose = back.xy("nose")
    front = _figure(nose[0] - hand[0], nose[1] - hand[1], scale=110, seed=1)
    _, (p_back, p_front) = _render([back, front])
    assert p_back.keypoints[K["nose"], 2] == 1
    assert (p_back.keypoints[K["left_shoulder"] :, 2] == 2).all()  # the body is clear
    assert (p_front.keypoints[:, 2] == 2).all()


def test_facing_away_hides_the_face_and_swaps_sides_on_the_image() -> None:
    _, (front,) = _render([_figure(100, 80, yaw=0.0)])
    _, (back,) = _render([_figure(100, 80, yaw=180.0)])
    face = [K[n] for n in ("nose", "left_eye", "right_eye")]
    assert (front.keypoints[face, 2] == 2).all() and (back.keypoints[face, 2] == 1).all()
    ls, rs = K["left_shoulder"], K["right_shoulder"]
    assert front.keypoints[ls, 0] > front.keypoints[rs, 0]  # person's left on image right
    assert back.keypoints[ls, 0] < back.keypoints[rs, 0]
    assert back.keypoints[ls, 2] == back.keypoints[rs, 2] == 2


def test_in_profile_the_far_side_hides_behind_the_body() -> None:
    # yaw 90: facing the image right, the right side towards the camera
    _, (person,) = _render([_figure(100, 80, yaw=90.0, l_shoulder_abd=0.0, r_shoulder_abd=0.0)])
    v = person.keypoints[:, 2]
    assert v[K["right_shoulder"]] == 2 and v[K["left_shoulder"]] == 1
    assert v[K["right_ear"]] == 2 and v[K["left_ear"]] == 1 and v[K["left_eye"]] == 1
