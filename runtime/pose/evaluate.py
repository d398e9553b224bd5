"""Pose evaluation: COCO OKS AP/AR through pycocotools, keypoint OKS-NMS, and
PCKh for MPII-format data. Torch-free.

COCO: `coco_keypoint_eval` returns the ten numbers of COCOeval's summary
(AP, AP50, AP75, APm, APl, AR, AR50, AR75, ARm, ARl) and can write the results
JSON. It hides pycocotools' quirks: its prints are captured; `loadRes` gets a
deep copy (it mutates its input) and is never called with an empty list (it
indexes `anns[0]`) -- no predictions score 0 on every metric; ground truth
lacking `num_keypoints`, `iscrowd`, `area` or `categories` is completed
(COCOeval needs them); non-COCO layouts pass their OKS `sigmas`.

OKS-NMS (optional, `oks_nms_threshold`): HRNet's per-image greedy
suppression of results whose OKS with a higher-scoring result of the same
image exceeds the threshold (0.9 in HRNet), with OKS over joints scoring
above `VIS_THRESHOLD` in both, and areas from the keypoints' bounding box as
pycocotools `loadRes` computes them (HRNet uses the crop area instead). Off
by default: with ground-truth boxes there is nothing to suppress.

PCKh (MPII): a joint is correct when its distance to the ground truth is at
most `threshold` x head size. The head size is MPII's: 0.6 x the diagonal of
the annotated head box (x1, y1, x2, y2) -- `head_size_from_box`; without head
boxes, `head_size_from_keypoints` uses the upper-neck-to-head-top segment, an
approximation (not the official number). The mean is over all labelled joints
except pelvis and thorax, as in the MPII / HRNet evaluation.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from archc.runtime.pose.coco_json import read_json
from archc.runtime.pose.decode import VIS_THRESHOLD
from archc.runtime.pose.keypoints import COCO, MPII, KeypointSpec

KEYPOINT_METRICS = ("AP", "AP50", "AP75", "APm", "APl", "AR", "AR50", "AR75", "ARm", "ARl")
MPII_HEAD_FACTOR = 0.6
PCKH_EXCLUDE = ("pelvis", "thorax")


def _complete_gt(data: dict[str, Any]) -> dict[str, Any]:
    """Copy of a COCO dict with the fields COCOeval requires filled in."""
    data = copy.deepcopy(data)
    data.setdefault("categories", [{"id": 1, "name": "person", "supercategory": "person"}])
    for i, ann in enumerate(data.get("annotations", [])):
        vis = np.asarray(ann.get("keypoints", []), dtype=np.float64)[2::3]
        ann.setdefault("num_keypoints", int((vis > 0).sum()))
        ann.setdefault("iscrowd", 0)
        ann.setdefault("id", i + 1)
        if "area" not in ann and "bbox" in ann:
            ann["area"] = float(ann["bbox"][2] * ann["bbox"][3])
    return data


def _coco(gt: str | Path | dict[str, Any]) -> Any:
    from pycocotools.coco import COCO as CocoApi

    data = gt if isinstance(gt, dict) else read_json(gt)
    api = CocoApi()
    api.dataset = _complete_gt(data)
    with contextlib.redirect_stdout(io.StringIO()):
        api.createIndex()
    return api


def write_results(results: list[dict[str, Any]], path: str | Path) -> Path:
    """Write COCO result records as JSON (parent folders created)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results))
    return path


def coco_keypoint_eval(
    gt: str | Path | dict[str, Any],
    results: list[dict[str, Any]],
    results_path: str | Path | None = None,
    sigmas: Sequence[float] | None = None,
    oks_nms_threshold: float | None = None,
) -> dict[str, float]:
    """OKS AP/AR of `results` against the ground truth (a path or a COCO dict)."""
    if oks_nms_threshold is not None:
        results = oks_nms(results, oks_nms_threshold, sigmas or COCO.sigmas)
    if results_path is not None:
        write_results(results, results_path)
    api = _coco(gt)
    if not results:
        return dict.fromkeys(KEYPOINT_METRICS, 0.0)
    unknown = {r["image_id"] for r in results} - set(api.getImgIds())
    if unknown:
        raise ValueError(f"results name image ids not in the ground truth: {sorted(unknown)[:5]}")
    return _run_cocoeval(api, results, sigmas)


def _run_cocoeval(api: Any, results: list[dict[str, Any]], sigmas) -> dict[str, float]:
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        dets = api.loadRes(copy.deepcopy(results))
        ev = COCOeval(api, dets, iouType="keypoints")
        if sigmas is not None:
            ev.params.kpt_oks_sigmas = np.asarray(sigmas, dtype=np.float64)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return {name: float(v) for name, v in zip(KEYPOINT_METRICS, ev.stats, strict=True)}


def _kpt_area(kpts: np.ndarray) -> float:
    return float(np.ptp(kpts[:, 0]) * np.ptp(kpts[:, 1]))


def oks(a: np.ndarray, b: np.ndarray, area: float, sigmas: np.ndarray, thr: float) -> float:
    """HRNet `oks_iou` of two (K, 3) keypoint sets over joints scoring > thr in both."""
    var = (2 * sigmas) ** 2
    e = ((a[:, :2] - b[:, :2]) ** 2).sum(1) / var / (area + np.spacing(1)) / 2
    ok = (a[:, 2] > thr) & (b[:, 2] > thr)
    return float(np.exp(-e[ok]).mean()) if ok.any() else 0.0


def oks_nms(
    results: list[dict[str, Any]], threshold: float, sigmas: Sequence[float]
) -> list[dict[str, Any]]:
    """Per-image greedy OKS-NMS of COCO result records (see module docstring)."""
    by_image: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for r in results:
        by_image[r["image_id"]].append(r)
    s = np.asarray(sigmas, dtype=np.float64)
    kept = []
    for recs in by_image.values():
        recs = sorted(recs, key=lambda r: -r["score"])
        kpts = [np.asarray(r["keypoints"], dtype=np.float64).reshape(-1, 3) for r in recs]
        keep: list[int] = []
        for i, k in enumerate(kpts):
            area = [(_kpt_area(k) + _kpt_area(kpts[j])) / 2 for j in keep]
            ious = [oks(kpts[j], k, a, s, VIS_THRESHOLD) for j, a in zip(keep, area, strict=True)]
            if all(iou <= threshold for iou in ious):
                keep.append(i)
        kept.extend(recs[i] for i in keep)
    return kept


def head_size_from_box(head_boxes: Any) -> np.ndarray:
    """MPII head size: 0.6 x diagonal of (N, 4) head boxes (x1, y1, x2, y2)."""
    boxes = np.asarray(head_boxes, dtype=np.float64).reshape(-1, 4)
    return MPII_HEAD_FACTOR * np.linalg.norm(boxes[:, 2:] - boxes[:, :2], axis=1)


def head_size_from_keypoints(keypoints: Any, spec: KeypointSpec = MPII) -> np.ndarray:
    """Approximate head size: the upper-neck-to-head-top distance of (N, K, 2+) arrays."""
    kp = np.asarray(keypoints, dtype=np.float64)
    top, neck = kp[:, spec.index("head_top"), :2], kp[:, spec.index("upper_neck"), :2]
    return np.linalg.norm(top - neck, axis=1)


def pckh_per_joint(pred: Any, gt: Any, visible: Any, head_size: Any, threshold: float):
    """(correct count, labelled count) per joint, each (K,)."""
    dist = np.linalg.norm(np.asarray(pred)[..., :2] - np.asarray(gt)[..., :2], axis=-1)
    norm = dist / np.asarray(head_size, dtype=np.float64)[:, None]
    vis = np.asarray(visible) > 0
    return ((norm <= threshold) & vis).sum(0), vis.sum(0)


def pckh(
    pred: Any,
    gt: Any,
    visible: Any,
    head_size: Any,
    spec: KeypointSpec = MPII,
    thresholds: Sequence[float] = (0.5, 0.1),
    exclude: Sequence[str] = PCKH_EXCLUDE,
) -> dict[str, float]:
    """PCKh in [0, 1]: "PCKh@t" (mean over joints not in `exclude`, weighted
    by labelled counts as MPII does) and "PCKh@t/<joint>" per joint."""
    keep = np.array([n not in exclude for n in spec.names])
    out: dict[str, float] = {}
    for t in thresholds:
        correct, count = pckh_per_joint(pred, gt, visible, head_size, t)
        total = count[keep].sum()
        out[f"PCKh@{t:g}"] = float(correct[keep].sum() / total) if total else float("nan")
        for name, c, n in zip(spec.names, correct, count, strict=True):
            out[f"PCKh@{t:g}/{name}"] = float(c / n) if n else float("nan")
    return out
