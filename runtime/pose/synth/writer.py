"""A synthetic data set on disk: JPEG images and COCO keypoint JSON, rendered in parallel.

Layout under OUT:

    annotations/person_keypoints_train.json   images/train/000000.jpg ...
    annotations/person_keypoints_val.json     images/val/000000.jpg ...

`file_name` is relative to the split's image folder. In video mode each "image" of a
split is a sequence of `frames` frames, named `SSSSSS_FFF.jpg`; images carry `vid_id`
(1-based) and `frame_id` (0-based), annotations `track_id` (0-based within a video).

Determinism: image (or sequence) `i` of split `s` is drawn from its own generator seeded
with (seed, s, i) (and the frame number for a video's camera noise), so the data do not
depend on the number of workers. Ids are given in order once all workers are done, and
the JSON is written with fixed key order, so a seed gives byte-identical files. Images
are written first and each JSON last, atomically (temporary file, then os.replace): a
JSON that exists is complete, and so are the images it lists.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from archc.runtime.pose.keypoints import COCO
from archc.runtime.pose.synth.labels import Person
from archc.runtime.pose.synth.profile import STANDARD, Profile, profile_named
from archc.runtime.pose.synth.scene import render_scene, sample_scene
from archc.runtime.pose.synth.video import sample_sequence

SPLITS = {"train": 0, "val": 1}
DEFAULT_SIZE = (288, 384)  # height, width
SIZE_LIMITS = (64, 2048)
MAX_FRAMES = 1000  # frame numbers in file names have 3 digits
MAX_IMAGES = 1_000_000  # over both splits: hours of rendering, tens of GB of JPEGs
FORMAT_VERSION = 1


class SynthError(ValueError):
    """Bad arguments or an output folder that cannot be used; the message says which."""


def frame_rng(seed: int, split: str, index: int, frame: int | None = None):
    key = [seed, SPLITS[split], index] + ([] if frame is None else [frame + 1])
    return np.random.default_rng(np.random.SeedSequence(key))


def render_still(seed: int, split: str, index: int, size=DEFAULT_SIZE, profile: Profile = STANDARD):
    """Image `index` of a split: (H x W x 3 uint8, list of Person, JPEG quality)."""
    rng = frame_rng(seed, split, index)
    spec = sample_scene(rng, *size, profile)
    image, persons = render_scene(spec, rng)
    return image, persons, spec.quality


def render_sequence(
    seed: int, split: str, index: int, frames: int, size=DEFAULT_SIZE, profile=STANDARD
):
    """Sequence `index` of a split: a list of (image, persons, quality), one per frame."""
    specs = sample_sequence(frame_rng(seed, split, index), *size, frames, profile)
    return [
        (*render_scene(spec, frame_rng(seed, split, index, t)), spec.quality)
        for t, spec in enumerate(specs)
    ]


@dataclass(frozen=True)
class _Job:
    seed: int
    split: str
    index: int
    size: tuple[int, int]
    frames: int | None
    folder: str
    profile: str


def _run_job(job: _Job) -> list[dict]:
    """Render one image or sequence, write its JPEGs; return their records (no ids yet)."""
    profile = profile_named(job.profile)
    if job.frames is None:
        outputs = [render_still(job.seed, job.split, job.index, job.size, profile)]
        names = [f"{job.index:06d}.jpg"]
    else:
        outputs = render_sequence(job.seed, job.split, job.index, job.frames, job.size, profile)
        names = [f"{job.index:06d}_{t:03d}.jpg" for t in range(job.frames)]
    records = []
    for t, ((image, persons, quality), name) in enumerate(zip(outputs, names, strict=True)):
        Image.fromarray(image).save(Path(job.folder) / name, "JPEG", quality=quality)
        record = {
            "file_name": name,
            "height": job.size[0],
            "width": job.size[1],
            "persons": [_person_fields(p) for p in persons],
        }
        if job.frames is not None:
            record.update(vid_id=job.index + 1, frame_id=t, nframes=job.frames)
        records.append(record)
    return records


def _person_fields(p: Person) -> dict:
    kp = [
        [round(float(x), 2), round(float(y), 2), int(v)] if v > 0 else [0, 0, 0]
        for x, y, v in p.keypoints
    ]
    return {
        "keypoints": [c for k in kp for c in k],
        "num_keypoints": p.num_keypoints,
        "bbox": [round(float(c), 2) for c in p.bbox],
        "area": round(float(p.area), 2),
        "track_id": p.track_id,
    }


def coco_document(records: list[dict], info: dict, video: bool) -> dict:
    """The COCO keypoints JSON for a split, ids assigned in order (images and persons)."""
    images, annotations = [], []
    for image_id, rec in enumerate(records, start=1):
        image = {
            "id": image_id,
            "file_name": rec["file_name"],
            "width": rec["width"],
            "height": rec["height"],
        }
        if video:
            image.update(vid_id=rec["vid_id"], frame_id=rec["frame_id"], nframes=rec["nframes"])
        images.append(image)
        for person in rec["persons"]:
            ann = {
                "id": len(annotations) + 1,
                "image_id": image_id,
                "category_id": 1,
                "iscrowd": 0,
                "keypoints": person["keypoints"],
                "num_keypoints": person["num_keypoints"],
                "bbox": person["bbox"],
                "area": person["area"],
            }
            if video:
                ann["track_id"] = person["track_id"]
            annotations.append(ann)
    category = {
        "id": 1,
        "name": "person",
        "supercategory": "person",
        "keypoints": list(COCO.names),
        "skeleton": [[a + 1, b + 1] for a, b in COCO.skeleton],
    }
    return {
        "info": info,
        "licenses": [],
        "images": images,
        "annotations": annotations,
        "categories": [category],
    }


def write_json_atomic(path: Path, data) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(data, fh, separators=(",", ":"))
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


@dataclass(frozen=True)
class SynthResult:
    out: Path
    images: dict[str, int]  # per split
    persons: dict[str, int]


def check_output(out: Path, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise SynthError(f"{out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise SynthError(
            f"{out} is not empty; choose an empty folder or pass --force "
            "to overwrite the data set in it"
        )


def synthesize(
    out,
    train: int = 1000,
    val: int = 100,
    *,
    size=DEFAULT_SIZE,
    seed: int = 0,
    video: int | None = None,
    workers: int | None = None,
    force: bool = False,
    profile: str = "standard",
    progress: Callable[[str, int, int], None] | None = None,
) -> SynthResult:
    """Render the data set into `out` (see the module docstring for the layout).

    `train` and `val` count images, or sequences of `video` frames each; `profile` names
    the difficulty (runtime/pose/synth/profile.py: `standard` or `quick`). `progress` is
    called as (split, images done, images in split) while rendering.
    """
    _validate(train, val, size, seed, video, workers)
    try:
        profile_named(profile)
    except ValueError as err:
        raise SynthError(str(err)) from None
    out = Path(out)
    check_output(out, force)
    (out / "annotations").mkdir(parents=True, exist_ok=True)
    workers = workers or default_workers()
    counts, persons = {}, {}
    pool = ProcessPoolExecutor(workers) if workers > 1 and train + val > 1 else None
    try:
        for split, n in (("train", train), ("val", val)):
            folder = out / "images" / split
            folder.mkdir(parents=True, exist_ok=True)
            for stale in folder.glob("*.jpg"):
                stale.unlink()
            jobs = [
                _Job(seed, split, i, tuple(size), video, str(folder), profile) for i in range(n)
            ]
            per_job = video or 1
            results = (
                pool.map(_run_job, jobs, chunksize=max(1, min(16, n // (8 * workers))))
                if pool is not None
                else map(_run_job, jobs)
            )
            records: list[dict] = []
            if progress is not None:  # a long sequence is one job: say so before it ends
                progress(split, 0, n * per_job)
            for done, job_records in enumerate(results, start=1):
                records.extend(job_records)
                if progress is not None:
                    progress(split, done * per_job, n * per_job)
            info = {
                "description": "archc synthetic persons (archc data synth)",
                "version": FORMAT_VERSION,
                "seed": seed,
                "split": split,
                "size": list(size),
                "video_frames": video,
            }
            if profile != STANDARD.name:  # standard files stay as they were before profiles
                info["profile"] = profile
            doc = coco_document(records, info, video is not None)
            write_json_atomic(out / "annotations" / f"person_keypoints_{split}.json", doc)
            counts[split], persons[split] = len(doc["images"]), len(doc["annotations"])
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    return SynthResult(out, counts, persons)


def default_workers() -> int:
    """The CPUs this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def _validate(train, val, size, seed, video, workers) -> None:
    if train < 0 or val < 0:
        raise SynthError(f"image counts must be >= 0 (got train={train}, val={val})")
    lo, hi = SIZE_LIMITS
    if len(size) != 2 or not all(lo <= int(s) <= hi for s in size):
        raise SynthError(f"image size must be HxW with both sides in {lo}..{hi}, got {size}")
    if seed < 0:
        raise SynthError(f"the seed must be >= 0, got {seed}")
    if video is not None and video < 2:
        raise SynthError(f"a video needs at least 2 frames, got {video}")
    if video is not None and video > MAX_FRAMES:
        raise SynthError(f"a video has at most {MAX_FRAMES} frames, got {video}")
    if (train + val) * (video or 1) > MAX_IMAGES:
        raise SynthError(
            f"{(train + val) * (video or 1):,} images; a data set holds at most {MAX_IMAGES:,}"
        )
    if workers is not None and workers < 1:
        raise SynthError(f"workers must be >= 1, got {workers}")
