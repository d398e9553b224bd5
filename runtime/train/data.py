"""The data side of a run: the data directory layout, the datasets a network's
geometry asks for, image limits, and one loader per epoch.

Layout (what `archc data synth` writes, and COCO's own after renaming):

    DIR/annotations/person_keypoints_{split}.json
    DIR/images/{split}/<file_name of each image>

Why a fresh loader every epoch: `dataset.set_epoch(e)` must reach the worker
processes, which receive a copy of the dataset when an iterator starts
(workers are not persistent). The order is `device.shuffle_order(n, seed, e)`
and each item's augmentation depends on (seed, e, index) only, so the batches
of an epoch are the same for any number of workers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader

from archc.runtime.pose.coco_json import PoseDataError, read_json
from archc.runtime.pose.dataset import CocoPoseDataset, CropConfig
from archc.runtime.pose.keypoints import SPECS, KeypointSpec
from archc.runtime.pose.validate import check_split, split_files
from archc.runtime.pose.video import VideoPoseDataset
from archc.runtime.train.config import NetGeometry, TrainConfig, TrainError
from archc.runtime.train.device import derived_seed, shuffle_order
from archc.runtime.train.distributed import Ranks


@dataclass(frozen=True)
class Split:
    """One split of a data directory: its annotation file and image folder."""

    name: str
    ann_file: Path
    image_root: Path


def find_split(data_dir: str | Path, split: str) -> Split:
    """The files of `split` in `data_dir`, checked (`pose.validate`) before any work:
    a `TrainError` names what is missing or lists what is wrong."""
    try:
        ann, images = split_files(Path(data_dir), split)
    except PoseDataError as err:
        raise TrainError(str(err)) from None
    _checked(ann, images)
    return Split(split, ann, images)


def check_data(data_dir: str | Path) -> None:
    """Both splits of `data_dir` checked, for a command whose first read of the data
    comes after it has written something (a search at equal budget trains its first
    subnet in a folder of its own)."""
    for split in ("train", "val"):
        find_split(data_dir, split)


_CHECKED: set[tuple] = set()  # (file, size, mtime) of annotation files that passed


def _checked(ann: Path, images: Path) -> None:
    stat = ann.stat()
    key = (str(ann.resolve()), stat.st_size, stat.st_mtime_ns, str(images.resolve()))
    if key in _CHECKED:
        return
    report = check_split(ann, images)
    if not report.ok:
        raise TrainError(
            f"{ann}: the data set has {report.error_count} problems (`archc data check "
            f"{ann.parent.parent}` lists them):\n" + report.render()
        )
    _CHECKED.add(key)


def keypoint_spec(num_keypoints: int, name: str) -> KeypointSpec:
    """The keypoint layout of a network with `num_keypoints` heatmaps."""
    for spec in SPECS.values():
        if spec.num_keypoints == num_keypoints:
            return spec
    known = ", ".join(f"{s.name} {s.num_keypoints}" for s in SPECS.values())
    raise TrainError(
        f"`{name}` outputs {num_keypoints} heatmaps; no keypoint layout has "
        f"{num_keypoints} keypoints (known: {known})"
    )


def check_keypoints(doc: dict[str, Any], split: Split, geometry: NetGeometry) -> None:
    """The data's keypoint count (from its first annotation) must match the net's."""
    for ann in doc.get("annotations", []):
        values = ann.get("keypoints")
        if isinstance(values, list):
            if len(values) != 3 * geometry.num_keypoints:
                raise TrainError(
                    f"`{geometry.name}` outputs {geometry.num_keypoints} heatmaps but "
                    f"{split.ann_file} has {len(values) // 3} keypoints per person; "
                    "the network's output channels must equal the data's keypoints"
                )
            return


def first_images(doc: dict[str, Any], limit: int | None) -> set[int] | None:
    """Ids of the first `limit` images of a COCO document (None: no limit)."""
    if limit is None:
        return None
    return {int(img["id"]) for img in doc.get("images", [])[:limit]}


def restrict(doc: dict[str, Any], image_ids: set[int] | None) -> dict[str, Any]:
    """The document with only the images in `image_ids` (and their annotations)."""
    if image_ids is None:
        return doc
    return {
        **doc,
        "images": [i for i in doc["images"] if int(i["id"]) in image_ids],
        "annotations": [
            a for a in doc.get("annotations", []) if int(a.get("image_id", -1)) in image_ids
        ],
    }


@dataclass
class SplitData:
    """A dataset, the indices of its persons (or clips) in use, and the ground truth
    they are scored against (restricted to the same images)."""

    dataset: CocoPoseDataset | VideoPoseDataset
    indices: list[int]
    ground_truth: dict[str, Any]


def load_split(
    split: Split, geometry: NetGeometry, config: TrainConfig, *, train: bool, limit: int | None
) -> SplitData:
    """The persons of `split` cropped and targeted for a network of `geometry`; for a
    temporal net (`geometry.frames` = T) its clips of a key frame and T frames,
    starting anywhere for training and at key frames for evaluation (`pose.video`).
    `limit` keeps the first images (of clips: their key frames)."""
    doc = read_json(split.ann_file)
    if not isinstance(doc, dict):
        raise TrainError(f"{split.ann_file}: not a COCO keypoints file")
    check_keypoints(doc, split, geometry)
    crop = CropConfig(
        input_size=geometry.input_size, heatmap_size=geometry.heatmap_size, sigma=config.sigma
    )
    spec = keypoint_spec(geometry.num_keypoints, geometry.name)
    augment = train and config.augment
    if geometry.frames:
        dataset = _video_dataset(split, spec, crop, geometry.frames, train, augment, config.seed)
    else:
        dataset = CocoPoseDataset(
            split.ann_file, split.image_root, spec, crop=crop, train=augment, seed=config.seed
        )
    keep = first_images(doc, limit)
    indices = [i for i, rec in enumerate(dataset.records) if keep is None or rec.image_id in keep]
    if not indices:
        what = "clips" if geometry.frames else "persons"
        raise TrainError(f"{split.ann_file}: no usable {what} ({dataset.summary})")
    if geometry.frames:  # scored on the frames the clips cover
        keep = dataset.frame_image_ids(indices)
    return SplitData(dataset, indices, restrict(doc, keep))


def _video_dataset(split, spec, crop, frames, train, augment, seed) -> VideoPoseDataset:
    try:
        return VideoPoseDataset(
            split.ann_file,
            split.image_root,
            spec,
            num_propagated=frames,
            crop=crop,
            train=augment,
            starts="every" if train else "key",
            seed=seed,
        )
    except PoseDataError as err:
        raise TrainError(
            f"{err} (a temporal net trains on videos: `archc data synth --video N` writes them)"
        ) from None


def train_loader(
    data: SplitData, config: TrainConfig, epoch: int, pin: bool, ranks: Ranks | None = None
) -> DataLoader:
    """Epoch `epoch`'s shuffled batches. The last partial batch is dropped when
    there is more than one batch (a batch of one breaks batch norm). With several
    data-parallel ranks, `config.batch` is the global batch and each rank loads its
    share of every global batch (`distributed.Ranks.share`)."""
    data.dataset.set_epoch(epoch)
    order = [data.indices[i] for i in shuffle_order(len(data.indices), config.seed, epoch)]
    if ranks is not None and ranks.world > 1:
        b = config.batch
        full = len(order) // b * b if len(order) > b else len(order)
        batches = [ranks.share(order[i : i + b]) for i in range(0, full, b)]
        return DataLoader(
            data.dataset,
            batch_sampler=batches,
            num_workers=config.workers,
            pin_memory=pin,
        )
    return DataLoader(
        data.dataset,
        batch_size=config.batch,
        sampler=order,
        num_workers=config.workers,
        drop_last=len(order) > config.batch,
        pin_memory=pin,
    )


def eval_loader(data: SplitData, batch: int, workers: int, pin: bool) -> DataLoader:
    """The persons in file order, unaugmented."""
    data.dataset.set_epoch(0)
    return DataLoader(
        data.dataset, batch_size=batch, sampler=data.indices, num_workers=workers, pin_memory=pin
    )


def steps_per_epoch(data: SplitData, batch: int) -> int:
    n = len(data.indices)
    return n // batch if n > batch else 1


def to_device(batch: Any, device: torch.device) -> Any:
    return batch.to(device, non_blocking=True) if torch.is_tensor(batch) else batch


_CALIBRATION_TAG = 0xCA1B


def run_calibration(
    config: TrainConfig, geometry: NetGeometry, crops: int, device: torch.device
) -> list[torch.Tensor]:
    """`crops` unaugmented crops of the run's training split (its `limit_train`), batched:
    what BatchNorm recalibration uses in validation, rewards and derivation."""
    split = find_split(config.data, "train")
    plain = load_split(split, geometry, config, train=False, limit=config.limit_train)
    return calibration_batches(plain, crops, config.batch, config.seed, device)


def calibration_batches(
    data: SplitData, crops: int, batch: int, seed: int, device: torch.device
) -> list[torch.Tensor]:
    """`crops` unaugmented training crops (a seeded random subset) in batches of `batch`."""
    order = [data.indices[i] for i in shuffle_order(len(data.indices), seed, _CALIBRATION_TAG)]
    chosen = order[: min(crops, len(order))]
    out = []
    for start in range(0, len(chosen), batch):
        items = [data.dataset[i][0] for i in chosen[start : start + batch]]
        out.append(torch.stack(items).to(device))
    return out


_HELD_OUT_TAG = 0x4E1D


def split_held_out(data: SplitData, fraction: float, seed: int) -> tuple[SplitData, SplitData]:
    """(kept, held out): the persons of a seeded `fraction` of the images held out.

    Bi-level search (DARTS) steps the architecture on data the weights never
    train on. The split is by image, so two persons of one picture never land
    on both sides, and depends on the seed only, so a resume splits alike."""
    images = sorted({data.dataset.records[i].image_id for i in data.indices})
    order = shuffle_order(len(images), seed, _HELD_OUT_TAG)
    cut = round(len(images) * fraction)
    held = {images[i] for i in order[:cut]}
    parts = ([], [])
    for i in data.indices:
        parts[data.dataset.records[i].image_id in held].append(i)
    for name, part in zip(("training", "held-out"), parts, strict=True):
        if len(part) < 2:
            raise TrainError(
                f"a held-out fraction of {fraction:g} of {len(images)} training images "
                f"leaves {len(part)} person(s) for the {name} side; each side needs 2 "
                "(batch norm): use more data or another fraction"
            )
    kept, held_out = (SplitData(data.dataset, part, data.ground_truth) for part in parts)
    return kept, held_out


class HeldOutBatches:
    """Batches of the held-out split for epoch `epoch`, cycling through a fresh order
    each time it runs out; the k-th batch of an epoch depends on (seed, epoch, k)
    only, so a resumed epoch sees the same batches."""

    def __init__(self, data: SplitData, config: TrainConfig, epoch: int, pin: bool):
        self.data, self.config, self.epoch, self.pin = data, config, epoch, pin
        self.cycle, self._batches = 0, iter(())

    def __call__(self) -> Any:
        for _ in range(2):
            batch = next(self._batches, None)
            if batch is not None:
                return batch
            self._batches = iter(self._loader())
            self.cycle += 1
        raise TrainError("the held-out split yields no batch")

    def _loader(self) -> DataLoader:
        n, config = len(self.data.indices), self.config
        key = derived_seed(self.epoch, self.cycle, _HELD_OUT_TAG) % (1 << 31)
        order = [self.data.indices[i] for i in shuffle_order(n, config.seed, key)]
        self.data.dataset.set_epoch(self.epoch)
        return DataLoader(
            self.data.dataset,
            batch_size=config.batch,
            sampler=order,
            num_workers=0,  # one batch at a time beside the training loader's workers
            drop_last=n > config.batch,
            pin_memory=self.pin,
        )
