"""Reading COCO-format keypoint files: ground-truth persons, person detections
and images, with errors that name the offending file. Torch-free.

Kept apart from the torch `Dataset`s (`dataset.py`, `video.py`) because both
need exactly the same parsing, validation and skip rules, and because data
errors deserve one place that words them well: a bad file found after hours of
training must say *which* file and *which* annotation.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

SKIP_REASONS = ("crowd", "no_keypoints", "empty_box")


class PoseDataError(ValueError):
    """A data file is missing, unreadable or malformed; the message names it."""


@dataclass(frozen=True, eq=False)
class PersonRecord:
    """One person to crop: its image, box (x, y, w, h) and (K, 3) keypoints.

    Detections carry zero keypoints and their detector score; ground truth has
    score 1. `extra` keeps the raw image entry (video fields live there).
    Compared by identity (`eq=False`): field-wise `==` on arrays is ambiguous.
    """

    image_id: int
    image_path: Path
    box: tuple[float, float, float, float]
    keypoints: np.ndarray
    score: float = 1.0
    ann_id: int = -1
    track_id: int = -1
    extra: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass
class PersonIndex:
    """Persons kept from a file, plus how many were skipped and why."""

    source: Path
    records: list[PersonRecord]
    images: dict[int, dict[str, Any]]
    skipped: Counter[str] = field(default_factory=Counter)

    @property
    def num_images(self) -> int:
        return len(self.images)

    def summary(self) -> str:
        """One line for logs: kept persons, images, and skipped by reason."""
        reasons = ", ".join(f"{self.skipped.get(r, 0)} {r}" for r in SKIP_REASONS)
        return (
            f"{self.source.name}: {len(self.records)} persons from {self.num_images} images; "
            f"skipped {sum(self.skipped.values())} ({reasons})"
        )


def read_json(path: str | Path) -> Any:
    """json.load with errors that name the file (and the line for bad syntax)."""
    path = Path(path)
    try:
        with path.open(encoding="utf-8-sig") as f:  # a byte-order mark is allowed
            return json.load(f)
    except FileNotFoundError:
        raise PoseDataError(f"{path}: file not found") from None
    except json.JSONDecodeError as e:
        raise PoseDataError(f"{path}: malformed JSON: {e}") from e
    except RecursionError:
        raise PoseDataError(f"{path}: malformed JSON: nested too deeply") from None
    except (OSError, UnicodeDecodeError) as e:
        raise PoseDataError(f"{path}: cannot read: {e}") from e
    except ValueError:  # the only other one json raises: int() of over 4,300 digits
        raise PoseDataError(f"{path}: holds a number of more than 4,300 digits") from None


def load_image(path: str | Path) -> Image.Image:
    """Open an image as RGB, fully decoded so truncated files fail here."""
    path = Path(path)
    if not path.is_file():
        raise PoseDataError(f"{path}: image file not found")
    try:
        with Image.open(path) as im:
            return im.convert("RGB")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise PoseDataError(f"{path}: corrupt or unreadable image: {e}") from e


def _images_by_id(data: Any, path: Path) -> dict[int, dict[str, Any]]:
    if not isinstance(data, dict) or not isinstance(data.get("images"), list):
        raise PoseDataError(f"{path}: not a COCO file (no 'images' list)")
    images = {}
    for img in data["images"]:
        if not isinstance(img, dict) or "id" not in img or "file_name" not in img:
            raise PoseDataError(f"{path}: image entry without 'id'/'file_name': {img!r:.80}")
        images[int(img["id"])] = img
    return images


def _keypoints(ann: dict[str, Any], num_keypoints: int, path: Path) -> np.ndarray:
    flat = ann.get("keypoints")
    if not isinstance(flat, list) or len(flat) != 3 * num_keypoints:
        got = len(flat) if isinstance(flat, list) else type(flat).__name__
        raise PoseDataError(
            f"{path}: annotation id {ann.get('id')}: 'keypoints' has {got} values, "
            f"expected {3 * num_keypoints} (x, y, v for {num_keypoints} keypoints)"
        )
    return np.asarray(flat, dtype=np.float64).reshape(num_keypoints, 3)


def _box(ann: dict[str, Any], image: dict[str, Any], path: Path) -> tuple[float, ...] | None:
    """The box clipped to the image (HRNet's sanitising); None when empty."""
    box = ann.get("bbox")
    if not isinstance(box, list) or len(box) != 4:
        raise PoseDataError(f"{path}: annotation id {ann.get('id')}: 'bbox' must be [x, y, w, h]")
    x, y, w, h = (float(v) for v in box)
    x1, y1 = max(0.0, x), max(0.0, y)
    x2 = min(float(image.get("width", np.inf)), x + max(0.0, w))
    y2 = min(float(image.get("height", np.inf)), y + max(0.0, h))
    if x2 <= x1 or y2 <= y1:
        return None
    return (x1, y1, x2 - x1, y2 - y1)


def _skip_reason(ann: dict[str, Any], kpts: np.ndarray) -> str | None:
    if ann.get("iscrowd", 0):
        return "crowd"
    if not (kpts[:, 2] > 0).any():
        return "no_keypoints"
    return None


def _record(ann, img, box, kpts, root: Path, score: float = 1.0) -> PersonRecord:
    return PersonRecord(
        image_id=int(img["id"]),
        image_path=root / img["file_name"],
        box=box,
        keypoints=kpts,
        score=score,
        ann_id=int(ann.get("id", -1)),
        track_id=int(ann.get("track_id", -1)),
        extra=img,
    )


def load_gt_persons(
    ann_file: str | Path, image_root: str | Path, num_keypoints: int
) -> PersonIndex:
    """Ground-truth persons of a COCO keypoints file, one record per person.

    Skips crowd regions, persons without any labelled keypoint and boxes that
    are empty after clipping to the image, and counts each reason.
    """
    path, root = Path(ann_file), Path(image_root)
    data = read_json(path)
    images = _images_by_id(data, path)
    index = PersonIndex(path, [], images)
    for ann in data.get("annotations", []):
        img = images.get(int(ann.get("image_id", -1)))
        if img is None:
            raise PoseDataError(f"{path}: annotation id {ann.get('id')}: unknown image_id")
        kpts = _keypoints(ann, num_keypoints, path)
        reason = _skip_reason(ann, kpts)
        box = _box(ann, img, path) if reason is None else None
        if reason is None and box is None:
            reason = "empty_box"
        if reason is not None:
            index.skipped[reason] += 1
            continue
        index.records.append(_record(ann, img, box, kpts, root))
    return index


def load_detections(
    det_file: str | Path,
    ann_file: str | Path,
    image_root: str | Path,
    num_keypoints: int,
    score_threshold: float = 0.0,
) -> PersonIndex:
    """Person detections (COCO results JSON: image_id, category_id, bbox,
    score) to crop at evaluation time instead of the ground-truth boxes.

    Only category 1 (person) with score >= `score_threshold` is kept; image
    file names come from `ann_file`.
    """
    det_path, root = Path(det_file), Path(image_root)
    images = _images_by_id(read_json(ann_file), Path(ann_file))
    dets = read_json(det_path)
    if not isinstance(dets, list):
        raise PoseDataError(f"{det_path}: expected a JSON list of detections")
    index = PersonIndex(det_path, [], images)
    zeros = np.zeros((num_keypoints, 3))
    for i, det in enumerate(dets):
        img = images.get(int(det.get("image_id", -1)))
        if img is None:
            raise PoseDataError(f"{det_path}: detection {i}: image_id not in {ann_file}")
        if det.get("category_id", 1) != 1 or float(det.get("score", 1.0)) < score_threshold:
            continue
        box = _box({"id": f"(detection {i})", **det}, img, det_path)
        if box is None:
            index.skipped["empty_box"] += 1
            continue
        index.records.append(_record({}, img, box, zeros, root, float(det.get("score", 1.0))))
    return index
