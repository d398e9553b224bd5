"""Top-down COCO-format keypoint dataset (torch): one sample per person.

A sample is `(image, target, target_weight, meta)`:

* image: (3, H, W) float32, RGB scaled to [0, 1] then normalised with the
  ImageNet mean/std (every backbone in the papers is ImageNet-initialised);
* target: (K, h, w) float32 Gaussian heatmaps (`targets.py`);
* target_weight: (K, 1) float32, 1 for labelled joints on the map;
* meta: dict of numpy arrays / numbers (collatable): image_id, ann_id, index,
  center, scale (crop w, h in source pixels), rotation, flip, score (1 for
  ground truth, the detector's for detections), area (crop area in source
  pixels, HRNet's meta area, used by OKS-NMS), joints (K, 3 in image
  coordinates) and matrix (2x3, source -> input crop).

Persons come from the ground truth, or at evaluation time from a detection
file (`det_file`). Augmentation is drawn per item from a generator seeded by
(seed, epoch, index) -- call `set_epoch` each epoch -- so any item of any
epoch can be regenerated exactly, which an exact resume requires.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from archc.runtime.pose.affine import (
    PADDING,
    affine_matrix,
    box_to_center_scale,
    transform_points,
    warp_image,
)
from archc.runtime.pose.augment import (
    NO_AUGMENT,
    AugmentConfig,
    AugParams,
    item_rng,
    sample_params,
    swap_pairs,
)
from archc.runtime.pose.coco_json import (
    PersonIndex,
    PersonRecord,
    load_detections,
    load_gt_persons,
    load_image,
)
from archc.runtime.pose.keypoints import COCO, KeypointSpec
from archc.runtime.pose.targets import gaussian_heatmaps

Size = tuple[int, int]  # (height, width)

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


@dataclass(frozen=True)
class CropConfig:
    """Crop and target geometry shared by the image and video datasets."""

    input_size: Size = (256, 192)
    heatmap_size: Size = (64, 48)
    sigma: float | None = None  # None: 2 at 64 rows, scaled with the height
    padding: float = PADDING

    @property
    def aspect_ratio(self) -> float:
        return self.input_size[1] / self.input_size[0]


def to_tensor(image: Image.Image) -> torch.Tensor:
    """PIL RGB -> (3, H, W) float32, ImageNet-normalised."""
    arr = np.asarray(image, dtype=np.float32) / 255.0
    arr = (arr - IMAGENET_MEAN) / IMAGENET_STD
    return torch.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1)))


def crop_person(
    image: Image.Image,
    keypoints: np.ndarray,
    center: np.ndarray,
    scale: np.ndarray,
    params: AugParams,
    spec: KeypointSpec,
    cfg: CropConfig,
) -> tuple[torch.Tensor, np.ndarray, np.ndarray, np.ndarray]:
    """Warp one person crop and build its targets under one augmentation.

    Returns (image tensor, heatmaps, target weights, 2x3 matrix). Scale and
    rotation act on the crop region; the flip is applied in crop space and
    the left/right keypoint channels are swapped to match.
    """
    scale = np.asarray(scale) * params.scale
    m_in = affine_matrix(center, scale, params.rotation, cfg.input_size, params.flip)
    m_hm = affine_matrix(center, scale, params.rotation, cfg.heatmap_size, params.flip)
    joints = np.array(keypoints, dtype=np.float64)
    joints[:, :2] = transform_points(joints[:, :2], m_hm)
    if params.flip:
        joints = swap_pairs(joints, spec.flip_index)
    target, weight = gaussian_heatmaps(joints, cfg.heatmap_size, cfg.sigma)
    crop = warp_image(image, m_in, cfg.input_size)
    return to_tensor(crop), target, weight, m_in


class CocoPoseDataset(Dataset):
    """Person crops from a COCO keypoints JSON (see the module docstring).

    `skipped` counts the persons left out by reason (crowd, no_keypoints,
    empty_box) and `summary` says it in one line.
    """

    def __init__(
        self,
        ann_file: str | Path,
        image_root: str | Path,
        spec: KeypointSpec = COCO,
        *,
        crop: CropConfig | None = None,
        train: bool = False,
        augment: AugmentConfig | None = None,
        det_file: str | Path | None = None,
        det_score_threshold: float = 0.0,
        seed: int = 0,
    ) -> None:
        self.ann_file = Path(ann_file)
        self.spec = spec
        self.crop = crop or CropConfig()
        self.augment = (augment or AugmentConfig()) if train else NO_AUGMENT
        self.seed, self.epoch = seed, 0
        self.index = self._load(image_root, det_file, det_score_threshold)

    def _load(self, root, det_file, threshold: float) -> PersonIndex:
        k = self.spec.num_keypoints
        if det_file is None:
            return load_gt_persons(self.ann_file, root, k)
        return load_detections(det_file, self.ann_file, root, k, threshold)

    @property
    def records(self) -> list[PersonRecord]:
        return self.index.records

    @property
    def skipped(self) -> Counter[str]:
        return self.index.skipped

    @property
    def summary(self) -> str:
        return self.index.summary()

    def set_epoch(self, epoch: int) -> None:
        """Select the augmentation stream of `epoch` (deterministic per item)."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.index.records)

    def params_for(self, index: int) -> AugParams:
        """The augmentation item `index` gets in the current epoch."""
        return sample_params(item_rng(self.seed, self.epoch, index), self.augment)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, dict]:
        rec = self.index.records[index]
        params = self.params_for(index)
        center, scale = box_to_center_scale(rec.box, self.crop.aspect_ratio, self.crop.padding)
        image = load_image(rec.image_path)
        img, target, weight, m = crop_person(
            image, rec.keypoints, center, scale, params, self.spec, self.crop
        )
        meta = person_meta(rec, index, center, scale * params.scale, params, m)
        return img, torch.from_numpy(target), torch.from_numpy(weight), meta


def person_meta(
    rec: PersonRecord,
    index: int,
    center: np.ndarray,
    scale: np.ndarray,
    params: AugParams,
    matrix: np.ndarray,
) -> dict[str, Any]:
    """The collatable meta dict of one crop (fields in the module docstring)."""
    return {
        "image_id": rec.image_id,
        "ann_id": rec.ann_id,
        "index": index,
        "center": np.asarray(center, dtype=np.float64),
        "scale": np.asarray(scale, dtype=np.float64),
        "rotation": float(params.rotation),
        "flip": bool(params.flip),
        "score": float(rec.score),
        "area": float(np.prod(scale)),
        "joints": rec.keypoints.astype(np.float64),
        "matrix": matrix.astype(np.float64),
    }
