"""Builders of a tiny COCO-format keypoint data set, a plain module rather than
a conftest so that it cannot clash with fixtures of other test folders: three
JPEG images, four usable persons (two medium, two large, so APm and APl are
defined), one crowd region and one person without labelled keypoints (both
must be skipped and counted)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from archc.runtime.pose.keypoints import COCO

IMAGE_SIZE = (320, 320)  # (width, height)

# (image id, box x, y, w, h, GT area) of the usable persons.
PERSONS = [
    (1, 60.0, 30.0, 150.0, 260.0, 30000.0),
    (2, 40.0, 60.0, 80.0, 150.0, 8000.0),
    (3, 20.0, 20.0, 140.0, 270.0, 28000.0),
    (3, 190.0, 100.0, 80.0, 150.0, 7500.0),
]


def person_keypoints(rng: np.random.Generator, box: tuple[float, ...]) -> list[float]:
    """17 keypoints inside the box; two unlabelled (v=0), two occluded (v=1)."""
    x, y, w, h = box
    pts = np.stack([x + w * rng.uniform(0.05, 0.95, 17), y + h * rng.uniform(0.05, 0.95, 17)], 1)
    vis = np.full(17, 2.0)
    vis[rng.choice(17, 4, replace=False)] = [0, 0, 1, 1]
    pts[vis == 0] = 0.0
    return np.concatenate([pts, vis[:, None]], 1).reshape(-1).round(2).tolist()


def write_image(path: Path, seed: int) -> None:
    rng = np.random.default_rng(seed)
    w, h = IMAGE_SIZE
    arr = rng.integers(0, 255, size=(h // 8, w // 8, 3), dtype=np.uint8)
    Image.fromarray(arr).resize(IMAGE_SIZE, Image.Resampling.BILINEAR).save(path, quality=90)


def coco_dict(seed: int = 0) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    w, h = IMAGE_SIZE
    images = [{"id": i, "file_name": f"{i:06d}.jpg", "width": w, "height": h} for i in (1, 2, 3)]
    anns = []
    for n, (image_id, *box, area) in enumerate(PERSONS, start=1):
        kp = person_keypoints(rng, tuple(box))
        anns.append(_ann(n, image_id, box, area, kp))
    crowd_box = (220.0, 200.0, 90.0, 110.0)
    anns.append(_ann(10, 1, crowd_box, 5000.0, person_keypoints(rng, crowd_box), crowd=1))
    anns.append(_ann(11, 2, [150.0, 40.0, 100.0, 200.0], 9000.0, [0.0] * 51))
    cats = [{"id": 1, "name": "person", "keypoints": list(COCO.names), "skeleton": []}]
    return {"images": images, "annotations": anns, "categories": cats}


def _ann(ann_id, image_id, box, area, kp, crowd=0) -> dict[str, Any]:
    num = int((np.asarray(kp)[2::3] > 0).sum())
    return {
        "id": ann_id, "image_id": image_id, "category_id": 1, "bbox": list(box),
        "area": area, "iscrowd": crowd, "keypoints": kp, "num_keypoints": num,
    }  # fmt: skip


def write_coco(root: Path, data: dict[str, Any]) -> Path:
    """Write `data` as root/person_keypoints_tiny.json plus its JPEGs."""
    root.mkdir(parents=True, exist_ok=True)
    for img in data["images"]:
        if not (root / img["file_name"]).exists():
            write_image(root / img["file_name"], img["id"])
    path = root / "person_keypoints_tiny.json"
    path.write_text(json.dumps(data))
    return path
