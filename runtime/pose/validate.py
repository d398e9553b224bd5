"""Checking a COCO-format keypoint data set before any work is done on it.

Why a pass of its own: the loaders meet a bad annotation or a missing image only
when they reach it, ten seconds or ten hours into training, and some faults
(a NaN box, a string image id) are silently dropped or end in an internal
error. This reads every annotation and every image *header* (PIL opens lazily:
the size without decoding the pixels) once, up front, and lists what is wrong:
the first `MAX_LISTED` problems, then a count. What the loaders skip safely by
design (crowd regions, persons with no labelled keypoint, boxes empty after
clipping) are warnings with counts, not errors.

Image paths must resolve inside the split's image folder: a `file_name` of
`../../outside.jpg` or an absolute path is an error, never read. Torch-free.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError

from archc.runtime.pose.coco_json import PoseDataError, read_json

MAX_LISTED = 20
ANNOTATIONS = "annotations/person_keypoints_{split}.json"
IMAGES = "images/{split}"


@dataclass
class SplitReport:
    """What one split's check found: errors (all counted, the first few kept)."""

    ann_file: Path
    errors: list[str] = field(default_factory=list)
    error_count: int = 0
    warnings: Counter[str] = field(default_factory=Counter)
    images: int = 0
    annotations: int = 0

    def error(self, message: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_LISTED:
            self.errors.append(message)

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    def render(self) -> str:
        """The problems, one per line, each naming the file; then the count left out."""
        lines = [f"{self.ann_file}: {e}" for e in self.errors]
        if self.error_count > len(self.errors):
            lines.append(f"{self.ann_file}: ... and {self.error_count - len(self.errors)} more")
        return "\n".join(lines)

    def summary(self) -> str:
        skipped = ", ".join(f"{n} {why}" for why, n in sorted(self.warnings.items()))
        return (
            f"{self.ann_file}: {self.images} images, {self.annotations} annotations, "
            f"{self.error_count} errors" + (f"; skipped by design: {skipped}" if skipped else "")
        )


def split_files(root: Path, split: str) -> tuple[Path, Path]:
    """(annotation file, image folder) of `split`, or a `PoseDataError` naming what is missing."""
    if not root.is_dir():
        raise PoseDataError(
            f"{root}: no such data directory (make one with `archc data synth {root}`)"
        )
    ann = root / ANNOTATIONS.format(split=split)
    images = root / IMAGES.format(split=split)
    if not ann.is_file():
        raise PoseDataError(
            f"{root}: missing {ANNOTATIONS.format(split=split)} (a data "
            f"directory holds {ANNOTATIONS.format(split='{train,val}')} and "
            f"{IMAGES.format(split='{train,val}')}/)"
        )
    if not images.is_dir():
        raise PoseDataError(f"{root}: missing the image folder {IMAGES.format(split=split)}/")
    return ann, images


def check_split(
    ann_file: Path, image_root: Path, layout: tuple[str, ...] | None = None
) -> SplitReport:
    """Every check of the module docstring over one split; `layout`, the keypoint
    names the net predicts, is compared with the category's when given."""
    report = SplitReport(ann_file)
    try:
        doc = read_json(ann_file)
    except PoseDataError as err:
        report.error(str(err).removeprefix(f"{ann_file}: "))
        return report
    if not isinstance(doc, dict) or not isinstance(doc.get("images"), list):
        report.error("not a COCO file (no 'images' list)")
        return report
    names = _category_keypoints(doc, report, layout)
    sizes = _check_images(doc["images"], image_root, report)
    count = len(names) if names else _first_count(doc)
    for i, ann in enumerate(_list(doc, "annotations", report)):
        _check_annotation(i, ann, sizes, count, report)
    return report


def _list(doc: dict, key: str, report: SplitReport) -> list:
    value = doc.get(key, [])
    if not isinstance(value, list):
        report.error(f"'{key}' must be a list")
        return []
    return value


def _category_keypoints(doc, report: SplitReport, layout) -> tuple[str, ...] | None:
    for cat in _list(doc, "categories", report):
        names = cat.get("keypoints") if isinstance(cat, dict) else None
        if not isinstance(names, list):
            continue
        names = tuple(str(n) for n in names)
        if layout is not None and names != tuple(layout):
            report.error(
                f"category {cat.get('id')}: its {len(names)} keypoint names disagree with the "
                f"net's layout of {len(layout)} ({_first_difference(names, layout)})"
            )
        return names
    return None


def _first_difference(names: tuple[str, ...], layout: tuple[str, ...]) -> str:
    for i, (a, b) in enumerate(zip(names, layout, strict=False)):
        if a != b:
            return f"keypoint {i} is {a!r} in the data, {b!r} in the layout"
    return "one list is longer"


def _first_count(doc: dict) -> int | None:
    for ann in doc.get("annotations") or []:
        if isinstance(ann, dict) and isinstance(ann.get("keypoints"), list):
            return len(ann["keypoints"]) // 3
    return None


def _check_images(images: list, root: Path, report: SplitReport) -> dict[int, tuple]:
    """image id -> (width, height) as annotated, for every well-formed image entry."""
    sizes: dict[int, tuple] = {}
    inside = root.resolve()
    for i, img in enumerate(images):
        report.images += 1
        if not isinstance(img, dict):
            report.error(f"image entry {i} is not an object")
            continue
        image_id = img.get("id")
        if not _is_int(image_id):
            report.error(f"image entry {i}: 'id' must be an integer, got {image_id!r:.40}")
            continue
        if image_id in sizes:
            report.error(f"image id {image_id}: defined twice")
            continue
        sizes[image_id] = (img.get("width"), img.get("height"))
        _check_image_file(image_id, img.get("file_name"), sizes[image_id], root, inside, report)
    return sizes


def _check_image_file(image_id, name, size, root: Path, inside: Path, report) -> None:
    where = f"image id {image_id}"
    if not isinstance(name, str) or not name:
        report.error(f"{where}: 'file_name' must be a non-empty string")
        return
    path = (root / name).resolve()
    if Path(name).is_absolute() or not path.is_relative_to(inside):
        report.error(f"{where}: file_name {name!r:.80} is outside {root}")
        return
    try:
        with Image.open(path) as im:
            actual = im.size
    except FileNotFoundError:
        report.error(f"{where}: image file {root / name} not found")
        return
    except (UnidentifiedImageError, OSError, ValueError) as err:
        report.error(f"{where}: {root / name} is not a readable image ({err})")
        return
    if all(_is_int(v) for v in size) and tuple(size) != actual:
        report.error(
            f"{where}: annotated {size[0]}x{size[1]}, but {root / name} is {actual[0]}x{actual[1]}"
        )


def _check_annotation(i: int, ann: Any, sizes: dict, count: int | None, report) -> None:
    report.annotations += 1
    if not isinstance(ann, dict):
        report.error(f"annotation {i} is not an object")
        return
    where = f"annotation {ann.get('id', f'#{i}')}"
    image_id = ann.get("image_id")
    if not _is_int(image_id) or image_id not in sizes:
        report.error(f"{where}: image_id {image_id!r:.40} is not an image of this file")
        return
    if ann.get("iscrowd", 0):
        report.warnings["crowd"] += 1
        return
    visible = _check_keypoints(where, ann.get("keypoints"), count, report)
    box = _check_box(where, ann.get("bbox"), report)
    if visible == 0:
        report.warnings["no labelled keypoint"] += 1
    elif box is not None and (box[2] == 0 or box[3] == 0):
        report.warnings["empty box"] += 1


def _check_keypoints(where: str, values: Any, count: int | None, report) -> int | None:
    """The number of labelled keypoints, or None when the list is unusable."""
    if not isinstance(values, list):
        report.error(f"{where}: 'keypoints' must be a list")
        return None
    if count is not None and len(values) != 3 * count:
        report.error(f"{where}: 'keypoints' has {len(values)} values, expected {3 * count}")
        return None
    bad = [v for v in values if not _is_finite(v)]
    if bad:
        report.error(f"{where}: 'keypoints' holds {bad[0]!r:.20}, not a finite number")
        return None
    visibility = values[2::3]
    wrong = [v for v in visibility if v not in (0, 1, 2)]
    if wrong:
        report.error(f"{where}: keypoint visibility {wrong[0]!r} is not 0, 1 or 2")
        return None
    return sum(1 for v in visibility if v > 0)


def _check_box(where: str, box: Any, report) -> list | None:
    if not isinstance(box, list) or len(box) != 4 or not all(_is_finite(v) for v in box):
        report.error(f"{where}: 'bbox' must be four finite numbers [x, y, w, h], got {box!r:.60}")
        return None
    if box[2] < 0 or box[3] < 0:
        report.error(f"{where}: 'bbox' has a negative size ({box[2]} x {box[3]})")
        return None
    return box


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
