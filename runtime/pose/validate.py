"""Checking a COCO-format keypoint data set before any work is done on it.

Why a pass of its own: the loaders meet a bad annotation or a missing image only
when they reach it, ten seconds or ten hours into training, and some faults
(a NaN box, a string image id) are silently dropped or end in an internal
error. This reads every annotation, every image *header* (PIL opens lazily:
the size without decoding the pixels) and the end of every JPEG and PNG (a file
cut short has no end marker) once, up front, and lists what is wrong:
the first `MAX_LISTED` problems, then a count. What the loaders skip safely by
design (crowd regions, persons with no labelled keypoint, boxes empty after
clipping) are warnings with counts, not errors.

Image paths must resolve inside the split's image folder: a `file_name` of
`../../outside.jpg` or an absolute path is an error, never read. Torch-free.
"""

from __future__ import annotations

import math
import stat
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError

from archc.runtime.pose.coco_json import PoseDataError, read_json
from archc.runtime.pose.keypoints import SPECS

MAX_LISTED = 20
ANNOTATIONS = "annotations/person_keypoints_{split}.json"
IMAGES = "images/{split}"
PERSON = 1  # the category id of every prediction archc writes (pose.decode)


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
        errors = f"{self.error_count} error{'s' * (self.error_count != 1)}"
        return (
            f"{self.ann_file}: {self.images} images, {self.annotations} annotations, {errors}"
            + (f"; skipped by design: {skipped}" if skipped else "")
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
    if not doc["images"]:
        report.error("no images: a split needs at least one image to train on or score")
    if "annotations" not in doc:
        report.error("no 'annotations' list: a keypoint file has one annotation per person")
    names = _category_keypoints(doc, report, layout)
    sizes = _check_images(doc["images"], image_root, report)
    count = len(names) if names else _first_count(doc)
    seen: set[int] = set()
    for i, ann in enumerate(_list(doc, "annotations", report)):
        _check_annotation(i, ann, sizes, count, seen, report)
    return report


def _list(doc: dict, key: str, report: SplitReport) -> list:
    value = doc.get(key, [])
    if not isinstance(value, list):
        report.error(f"'{key}' must be a list")
        return []
    return value


def _category_keypoints(doc, report: SplitReport, layout) -> tuple[str, ...] | None:
    """The person category's keypoint names, checked against `layout` or, without one,
    against the known layout of as many keypoints: flips, OKS sigmas and body parts
    go by index, so the same count in another order would train and score wrongly."""
    categories = [c for c in _list(doc, "categories", report) if isinstance(c, dict)]
    if categories and not any(c.get("id") == PERSON for c in categories):
        report.error(
            f"no category with id {PERSON} (archc writes its predictions as category "
            f"{PERSON}, person); the file's ids: {[c.get('id') for c in categories][:5]}"
        )
    for cat in sorted(categories, key=lambda c: c.get("id") != PERSON):  # person's first
        names = cat.get("keypoints")
        if not isinstance(names, list):
            continue
        names = tuple(str(n) for n in names)
        _compare_layout(cat.get("id"), names, layout, report)
        return names
    return None


def _compare_layout(cat_id, names: tuple[str, ...], layout, report: SplitReport) -> None:
    where = f"category {cat_id}"
    what = "the net's layout"
    if layout is None:
        spec = next((s for s in SPECS.values() if s.num_keypoints == len(names)), None)
        if spec is None:
            known = ", ".join(f"{s.name}: {s.num_keypoints}" for s in SPECS.values())
            report.error(
                f"{where}: its {len(names)} keypoint names fit no layout archc knows ({known})"
            )
            return
        layout, what = spec.names, f"the {spec.name} layout"
    if [_plain(n) for n in names] != [_plain(n) for n in layout]:
        report.error(
            f"{where}: {_first_difference(names, tuple(layout), what)} (flips, OKS sigmas "
            "and body parts go by index)"
        )


def _plain(name: str) -> str:
    """A keypoint name as spelled differently by different conversions of the same data
    (`Right Ankle`, `right-ankle`, `r_ankle`): the order is what matters."""
    text = "_".join(name.lower().replace("-", " ").split())
    for side in ("right", "left"):
        if text.startswith(f"{side}_"):
            text = side[0] + text[len(side) :]
    return text


def _first_difference(names: tuple[str, ...], layout: tuple[str, ...], what: str) -> str:
    for i, (a, b) in enumerate(zip(names, layout, strict=False)):
        if _plain(a) != _plain(b):
            return f"keypoint {i} is {_show(a)} in the data, {_show(b)} in {what}"
    return f"{len(names)} keypoint names, {len(layout)} in {what}"


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
            report.error(f"image entry {i}: 'id' must be an integer, got {_show(image_id)}")
            continue
        if image_id in sizes:
            report.error(f"image id {image_id}: defined twice")
            continue
        sizes[image_id] = (img.get("width"), img.get("height"))
        _check_size(image_id, sizes[image_id], report)
        _check_image_file(image_id, img.get("file_name"), sizes[image_id], root, inside, report)
    return sizes


def _check_image_file(image_id, name, size, root: Path, inside: Path, report) -> None:
    where = f"image id {image_id}"
    path = _image_path(where, name, root, inside, report)
    if path is None:
        return
    shown = root / _cut(name, 80)
    try:
        with Image.open(path) as im:
            actual, kind = im.size, im.format
    except Image.DecompressionBombError as err:
        report.error(f"{where}: {shown} is too large to decode ({err})")
        return
    except (UnidentifiedImageError, OSError, ValueError) as err:
        report.error(f"{where}: {shown} is not a readable image ({err})")
        return
    if not _ends_whole(path, kind):
        report.error(f"{where}: {shown} is truncated (its {kind} end marker is missing)")
    elif all(_is_int(v) for v in size) and tuple(size) != actual:
        report.error(
            f"{where}: annotated {_show(size[0])}x{_show(size[1])}, but {shown} is "
            f"{actual[0]}x{actual[1]}"
        )


def _image_path(where: str, name: Any, root: Path, inside: Path, report) -> Path | None:
    """The regular file `name` names inside `root`, or None (and an error). Resolved
    first (links followed), so nothing outside is ever opened; stat before open, as a
    named pipe would block the open until something wrote to it."""
    if not isinstance(name, str) or not name:
        report.error(f"{where}: 'file_name' must be a non-empty string")
        return None
    try:
        path = (root / name).resolve()
        if Path(name).is_absolute() or not path.is_relative_to(inside):
            report.error(f"{where}: file_name {_show(name, 80)} is outside {root}")
            return None
        mode = path.stat().st_mode
    except FileNotFoundError:
        report.error(f"{where}: image file {root / _cut(name, 80)} not found")
        return None
    except (OSError, RuntimeError, ValueError) as err:  # a NUL, a loop of links, too long
        reason = getattr(err, "strerror", None) or str(err)
        report.error(f"{where}: file_name {_show(name, 80)} is not a usable path ({reason:.80})")
        return None
    if not stat.S_ISREG(mode):
        report.error(f"{where}: {root / _cut(name, 80)} is not a regular file")
        return None
    return path


def _check_size(image_id, size: tuple, report: SplitReport) -> None:
    """Width and height, where given, are what boxes are clipped to: whole pixels."""
    if size == (None, None):
        return
    if not all(_is_int(v) and v >= 1 for v in size):
        report.error(
            f"image id {image_id}: 'width' and 'height' must be integers >= 1, "
            f"got {_show(size[0], 20)} x {_show(size[1], 20)}"
        )


END_MARKERS = {"JPEG": b"\xff\xd9", "PNG": b"IEND"}  # JPEG's EOI; PNG's last chunk
TAIL = 1024  # bytes read from the end: room for padding some writers add after the marker


def _ends_whole(path: Path, kind: str | None) -> bool:
    """Whether a JPEG or PNG ends as one that was written whole: a download cut short
    keeps its header (the size reads fine) and fails only when decoded, mid-epoch.
    A read of the file's last bytes, not a decode; other formats pass."""
    marker = END_MARKERS.get(kind or "")
    if marker is None:
        return True
    with path.open("rb") as f:
        f.seek(max(0, f.seek(0, 2) - TAIL))
        return marker in f.read()


def _check_annotation(i: int, ann: Any, sizes: dict, count, seen: set, report) -> None:
    report.annotations += 1
    if not isinstance(ann, dict):
        report.error(f"annotation {i} is not an object")
        return
    where = f"annotation {ann.get('id', f'#{i}')!s:.40}"
    if not _check_ids(where, ann, sizes, seen, report):
        return
    visible = _check_keypoints(where, ann.get("keypoints"), count, report)
    box = _check_box(where, ann.get("bbox"), report)
    _check_scoring(where, ann, visible, report)
    if ann.get("iscrowd", 0):
        report.warnings["crowd"] += 1
    elif visible == 0:
        report.warnings["no labelled keypoint"] += 1
    elif box is not None and (box[2] == 0 or box[3] == 0):
        report.warnings["empty box"] += 1


def _check_ids(where: str, ann: dict, sizes: dict, seen: set, report) -> bool:
    """The ids that tie an annotation to its image, category, track and score; False
    when it names no image of the file (nothing else about it can be checked)."""
    image_id = ann.get("image_id")
    if not _is_int(image_id) or image_id not in sizes:
        report.error(f"{where}: image_id {_show(image_id)} is not an image of this file")
        return False
    if "id" in ann:  # pycocotools indexes by it: a duplicate replaces a person in scoring
        if not _is_int(ann["id"]):
            report.error(f"{where}: 'id' must be an integer, got {_show(ann['id'])}")
        elif ann["id"] in seen:
            report.error(f"{where}: defined twice")
        else:
            seen.add(ann["id"])
    if ann.get("category_id", PERSON) != PERSON:
        report.error(
            f"{where}: category_id {_show(ann['category_id'], 20)} is not {PERSON} (person), "
            "the only category archc trains and scores"
        )
    if "track_id" in ann and not _is_int(ann["track_id"]):
        report.error(f"{where}: 'track_id' must be an integer, got {_show(ann['track_id'])}")
    return True


def _check_scoring(where: str, ann: dict, visible: int | None, report) -> None:
    """The fields COCOeval reads as given: `area` scales OKS and picks the size range,
    and a person whose `num_keypoints` is 0 is ignored whatever its keypoints say."""
    if ann.get("iscrowd", 0) not in (0, 1):  # COCOeval takes int() of it
        report.error(f"{where}: 'iscrowd' must be 0 or 1, got {_show(ann['iscrowd'], 20)}")
    area = ann.get("area", 0)
    if not _is_finite(area) or area < 0:
        report.error(f"{where}: 'area' must be a finite number >= 0, got {_show(area, 20)}")
    given = ann.get("num_keypoints", visible)
    if visible is not None and given != visible:
        report.error(
            f"{where}: 'num_keypoints' is {_show(given, 20)}, but {visible} keypoints are labelled"
        )


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
        report.error(f"{where}: 'keypoints' holds {_show(bad[0], 20)}, not a finite number")
        return None
    visibility = values[2::3]
    wrong = [v for v in visibility if v not in (0, 1, 2)]
    if wrong:
        report.error(f"{where}: keypoint visibility {wrong[0]!r} is not 0, 1 or 2")
        return None
    return sum(1 for v in visibility if v > 0)


def _check_box(where: str, box: Any, report) -> list | None:
    if not isinstance(box, list) or len(box) != 4 or not all(_is_finite(v) for v in box):
        report.error(
            f"{where}: 'bbox' must be four finite numbers [x, y, w, h], got {_show(box, 60)}"
        )
        return None
    if box[2] < 0 or box[3] < 0:
        report.error(f"{where}: 'bbox' has a negative size ({box[2]} x {box[3]})")
        return None
    return box


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_finite(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an integer no float holds (JSON allows 10**400)
        return False


def _show(value: Any, limit: int = 40) -> str:
    """`value`'s repr, cut to `limit` characters: a 5,000-character name or a number
    of 400 digits is named, not echoed."""
    return _cut(repr(value), limit)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
