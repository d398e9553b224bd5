"""Video variant of the top-down dataset (torch): clips of T + 1 consecutive
frames of one tracked person, for ViPNAS-style temporal propagation.

Accepted input: a PoseTrack-style COCO keypoints JSON.

* images carry a video id, `vid_id` (PoseTrack 2018) or `video_id`, and an
  ordering key, `frame_id` (PoseTrack 2018) or `frame_index`;
* person annotations carry `track_id` (persons without one are skipped and
  counted as `no_track`).

"Consecutive" means adjacent in the video's image list sorted by the ordering
key (PoseTrack frame ids need not step by 1). With `starts="every"` (training)
a clip starts at every frame where the track has a usable annotation in that
frame and the next T frames (crowd, keypoint-less and empty-box persons are
skipped as in `dataset.py`). With `starts="key"` (evaluation) clips start only
at key frames, positions 0, T+1, 2(T+1), ... of the video: the online schedule
of ViPNAS 3.1, where each frame is predicted once, the key frame by the key
net and the T after it by propagation; a track absent from a key frame, or
the tail of a video shorter than T+1 frames, is not predicted.

All T + 1 crops of a clip share ONE augmentation draw (scale, rotation,
flip), as ViPNAS 4.2 prescribes. The crop region is the key (first) frame's
box for every frame by default (`box="key"`), so the frames stay spatially
aligned for propagation; `box="per_frame"` crops each frame around its own
box instead (still with the shared draw).

A sample is `(images, targets, target_weights, meta)` with shapes
(T+1, 3, H, W), (T+1, K, h, w), (T+1, K, 1); meta holds the shared draw
(`aug_scale`, `rotation`, `flip`), `track_id`, and per-frame `image_id`,
`center`, `scale`, `score`, `matrix`.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from torch.utils.data import Dataset

from archc.runtime.pose.affine import box_to_center_scale
from archc.runtime.pose.augment import NO_AUGMENT, AugmentConfig, AugParams, item_rng, sample_params
from archc.runtime.pose.coco_json import PersonRecord, PoseDataError, load_gt_persons, load_image
from archc.runtime.pose.dataset import CropConfig, crop_person
from archc.runtime.pose.keypoints import COCO, KeypointSpec

VIDEO_ID_FIELDS = ("vid_id", "video_id")
FRAME_ORDER_FIELDS = ("frame_id", "frame_index")

Clip = tuple[PersonRecord, ...]


def _field(image: dict[str, Any], names: tuple[str, ...], path: Path) -> Any:
    for name in names:
        if name in image:
            return image[name]
    raise PoseDataError(f"{path}: image id {image.get('id')} has none of the fields {names}")


def frame_positions(images: dict[int, dict[str, Any]], path: Path) -> dict[int, tuple[Any, int]]:
    """image id -> (video id, position of the frame within its video)."""
    videos: dict[Any, list[tuple[Any, int]]] = defaultdict(list)
    for image_id, img in images.items():
        vid = _field(img, VIDEO_ID_FIELDS, path)
        videos[vid].append((_field(img, FRAME_ORDER_FIELDS, path), image_id))
    positions = {}
    for vid, frames in videos.items():
        for pos, (_, image_id) in enumerate(sorted(frames)):
            positions[image_id] = (vid, pos)
    return positions


def build_clips(
    records: list[PersonRecord],
    positions: dict[int, tuple[Any, int]],
    length: int,
    starts: Literal["every", "key"] = "every",
) -> tuple[list[Clip], int]:
    """The runs of `length` consecutive frames of one track (starting anywhere, or at
    key frames only: see the module docstring); also returns the number of records
    without a track id."""
    tracks: dict[tuple[Any, int], dict[int, PersonRecord]] = defaultdict(dict)
    no_track = 0
    for rec in records:
        if rec.track_id < 0:
            no_track += 1
            continue
        vid, pos = positions[rec.image_id]
        tracks[(vid, rec.track_id)][pos] = rec
    clips = []
    for key in sorted(tracks, key=str):
        frames = tracks[key]
        for start in sorted(frames):
            if starts == "key" and start % length:
                continue
            if all(start + t in frames for t in range(length)):
                clips.append(tuple(frames[start + t] for t in range(length)))
    return clips, no_track


class VideoPoseDataset(Dataset):
    """T + 1-frame clips of tracked persons (see the module docstring)."""

    def __init__(
        self,
        ann_file: str | Path,
        image_root: str | Path,
        spec: KeypointSpec = COCO,
        *,
        num_propagated: int = 3,
        crop: CropConfig | None = None,
        train: bool = False,
        augment: AugmentConfig | None = None,
        box: Literal["key", "per_frame"] = "key",
        starts: Literal["every", "key"] = "every",
        seed: int = 0,
    ) -> None:
        if num_propagated < 0 or box not in ("key", "per_frame") or starts not in ("every", "key"):
            raise ValueError(
                f"bad clip settings: num_propagated={num_propagated}, box={box!r}, "
                f"starts={starts!r}"
            )
        self.ann_file, self.spec, self.box = Path(ann_file), spec, box
        self.crop = crop or CropConfig()
        self.augment = (augment or AugmentConfig()) if train else NO_AUGMENT
        self.seed, self.epoch = seed, 0
        index = load_gt_persons(self.ann_file, image_root, spec.num_keypoints)
        positions = frame_positions(index.images, self.ann_file)
        self.clips, no_track = build_clips(index.records, positions, num_propagated + 1, starts)
        self.skipped: Counter[str] = Counter(index.skipped)
        self.skipped["no_track"] += no_track
        self._summary = index.summary()

    @property
    def summary(self) -> str:
        """One line: persons kept/skipped, tracks without ids, clips built."""
        return f"{self._summary}; {self.skipped['no_track']} no_track; {len(self)} clips"

    @property
    def records(self) -> list[PersonRecord]:
        """The key-frame person of every clip, in clip order (what the training data
        code selects, limits and splits by, as with single crops)."""
        return [clip[0] for clip in self.clips]

    def frame_image_ids(self, indices: list[int]) -> set[int]:
        """Every image some frame of the clips `indices` comes from."""
        return {rec.image_id for i in indices for rec in self.clips[i]}

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.clips)

    def params_for(self, index: int) -> AugParams:
        """The single augmentation draw shared by every frame of clip `index`."""
        return sample_params(item_rng(self.seed, self.epoch, index), self.augment)

    def _region(self, clip: Clip, t: int) -> tuple[np.ndarray, np.ndarray]:
        rec = clip[0] if self.box == "key" else clip[t]
        return box_to_center_scale(rec.box, self.crop.aspect_ratio, self.crop.padding)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, dict]:
        clip, params = self.clips[index], self.params_for(index)
        images, targets, weights, regions, matrices = [], [], [], [], []
        for t, rec in enumerate(clip):
            center, scale = self._region(clip, t)
            image = load_image(rec.image_path)
            img, target, weight, m = crop_person(
                image, rec.keypoints, center, scale, params, self.spec, self.crop
            )
            images.append(img)
            targets.append(torch.from_numpy(target))
            weights.append(torch.from_numpy(weight))
            regions.append((center, scale * params.scale))
            matrices.append(m)
        meta = self._meta(clip, params, regions, matrices)
        return torch.stack(images), torch.stack(targets), torch.stack(weights), meta

    def _meta(self, clip: Clip, params: AugParams, regions, matrices) -> dict[str, Any]:
        return {
            "track_id": clip[0].track_id,
            "aug_scale": float(params.scale),
            "rotation": float(params.rotation),
            "flip": bool(params.flip),
            "image_id": np.array([r.image_id for r in clip], dtype=np.int64),
            "center": np.stack([c for c, _ in regions]),
            "scale": np.stack([s for _, s in regions]),
            "score": np.array([r.score for r in clip], dtype=np.float64),
            "matrix": np.stack(matrices),
        }
