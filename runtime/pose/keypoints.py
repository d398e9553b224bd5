"""Keypoint metadata for the pose data sets: names, flip pairs, skeleton, OKS
sigmas and the PoseNFS body-part groupings.

Every other pose module (targets, augmentation, flip test, evaluation, the
synthetic data generator, the part-specific heads) reads its per-joint facts
from one `KeypointSpec`, so a data set is described exactly once. Torch-free.

Body-part groupings follow PoseNFS Table I for P = 1, 3, 5, 8. The table is
*not* a partition for every P: with P = 8 the parts overlap on purpose (an
elbow belongs to both the upper-arm and the lower-arm part; PoseNFS III-D sums
the overlapping part predictions into one keypoint map). `check_parts` hence
requires that each part is non-empty and in range, and that every keypoint is
covered at least once; P = 1, 3, 5 are additionally exact partitions.

PoseNFS numbers MPII joints in its own order (head top, upper neck, thorax,
l-shoulder, ...; footnote 3), not the standard MPII order used here (r_ankle
... l_wrist), so the MPII groupings below are the paper's table remapped by
joint *name* (see `_PAPER_MPII_ORDER`).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

Parts = tuple[tuple[int, ...], ...]


@dataclass(frozen=True)
class KeypointSpec:
    """Everything the runtime needs to know about one keypoint layout.

    `skeleton` and `flip_pairs` are 0-based index pairs. `sigmas` are the
    per-keypoint OKS constants (COCO's own for COCO; see `MPII` for its
    documented choice). `parts[P]` lists the body parts for P part heads,
    each part a tuple of keypoint indices (PoseNFS Table I).
    """

    name: str
    names: tuple[str, ...]
    flip_pairs: tuple[tuple[int, int], ...]
    skeleton: tuple[tuple[int, int], ...]
    sigmas: tuple[float, ...]
    parts: Mapping[int, Parts] = field(hash=False)  # a mappingproxy is unhashable

    @property
    def num_keypoints(self) -> int:
        return len(self.names)

    @property
    def flip_index(self) -> list[int]:
        """Permutation mapping each keypoint to its mirror (itself if unpaired).

        After a horizontal flip, channel `i` of the flipped output holds what
        the original calls keypoint `flip_index[i]`.
        """
        perm = list(range(self.num_keypoints))
        for a, b in self.flip_pairs:
            perm[a], perm[b] = b, a
        return perm

    def index(self, keypoint: str) -> int:
        """Index of a keypoint by name, with a did-you-mean error."""
        try:
            return self.names.index(keypoint)
        except ValueError:
            hint = difflib.get_close_matches(keypoint, self.names, n=3)
            raise KeyError(f"{self.name} has no keypoint {keypoint!r}; close: {hint}") from None


def check_parts(spec: KeypointSpec) -> None:
    """Raise ValueError unless every grouping covers every keypoint of `spec`."""
    k = spec.num_keypoints
    for p, parts in spec.parts.items():
        if len(parts) != p:
            raise ValueError(f"{spec.name} P={p}: {len(parts)} parts listed")
        flat = [i for part in parts for i in part]
        if any(not part for part in parts) or any(not 0 <= i < k for i in flat):
            raise ValueError(f"{spec.name} P={p}: empty part or index out of range")
        missing = sorted(set(range(k)) - set(flat))
        if missing:
            raise ValueError(f"{spec.name} P={p}: keypoints {missing} in no part")


def is_partition(parts: Parts, num_keypoints: int) -> bool:
    """True when every keypoint appears in exactly one part."""
    flat = sorted(i for part in parts for i in part)
    return flat == list(range(num_keypoints))


def _freeze(parts: dict[int, Parts]) -> Mapping[int, Parts]:
    return MappingProxyType(dict(parts))


# fmt: off
_COCO_NAMES = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
    "left_wrist", "right_wrist", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle",
)

COCO = KeypointSpec(
    name="coco",
    names=_COCO_NAMES,
    flip_pairs=((1, 2), (3, 4), (5, 6), (7, 8), (9, 10), (11, 12), (13, 14), (15, 16)),
    skeleton=(
        (15, 13), (13, 11), (16, 14), (14, 12), (11, 12), (5, 11), (6, 12), (5, 6),
        (5, 7), (6, 8), (7, 9), (8, 10), (1, 2), (0, 1), (0, 2), (1, 3), (2, 4),
        (3, 5), (4, 6),
    ),
    sigmas=(
        0.026, 0.025, 0.025, 0.035, 0.035, 0.079, 0.079, 0.072, 0.072,
        0.062, 0.062, 0.107, 0.107, 0.087, 0.087, 0.089, 0.089,
    ),
    parts=_freeze(
        {
            1: (tuple(range(17)),),
            3: ((0, 1, 2, 3, 4), (5, 6, 7, 8, 9, 10), (11, 12, 13, 14, 15, 16)),
            5: ((0, 1, 2, 3, 4, 5, 6), (7, 9), (8, 10), (11, 12), (13, 14, 15, 16)),
            8: (
                (0, 1, 2, 3, 4, 5, 6), (5, 7), (7, 9), (6, 8), (8, 10),
                (11, 12, 13, 14), (13, 15), (14, 16),
            ),
        }
    ),
)

_MPII_NAMES = (
    "r_ankle", "r_knee", "r_hip", "l_hip", "l_knee", "l_ankle", "pelvis", "thorax",
    "upper_neck", "head_top", "r_wrist", "r_elbow", "r_shoulder", "l_shoulder",
    "l_elbow", "l_wrist",
)

# PoseNFS footnote 3: the paper's own MPII numbering, used by its Table I.
_PAPER_MPII_ORDER = (
    "head_top", "upper_neck", "thorax", "l_shoulder", "r_shoulder", "l_elbow",
    "r_elbow", "l_wrist", "r_wrist", "l_hip", "r_hip", "l_knee", "r_knee",
    "l_ankle", "r_ankle", "pelvis",
)

# PoseNFS Table I, MPII column, in the paper's numbering.
_PAPER_MPII_PARTS: dict[int, Parts] = {
    1: (tuple(range(16)),),
    3: ((0, 1, 2), (3, 4, 5, 6, 7, 8), (9, 10, 11, 12, 13, 14, 15)),
    5: ((0, 1, 2, 3, 4), (5, 7), (6, 8), (9, 10, 15), (11, 12, 13, 14)),
    8: (
        (0, 1, 2, 3, 4), (3, 5), (5, 7), (4, 6), (6, 8), (9, 10, 11, 12, 15),
        (11, 13), (12, 14),
    ),
}

# fmt: on


def _remap_paper_mpii(parts: Parts) -> Parts:
    """Translate paper-order MPII indices into standard-order indices."""
    to_std = [_MPII_NAMES.index(n) for n in _PAPER_MPII_ORDER]
    return tuple(tuple(sorted(to_std[i] for i in part)) for part in parts)


# fmt: off
# MPII has no official OKS sigmas (it is scored with PCKh). We reuse the COCO
# sigma of the anatomically matching joint (ankle .089, knee .087, hip .107,
# wrist .062, elbow .072, shoulder .079); pelvis takes the hip value, thorax
# and upper neck the shoulder value, head top the ear value (.035). This is a
# documented choice that only matters if someone runs OKS on MPII data.
MPII = KeypointSpec(
    name="mpii",
    names=_MPII_NAMES,
    flip_pairs=((0, 5), (1, 4), (2, 3), (10, 15), (11, 14), (12, 13)),
    skeleton=(
        (0, 1), (1, 2), (2, 6), (6, 3), (3, 4), (4, 5), (6, 7), (7, 8), (8, 9),
        (7, 12), (12, 11), (11, 10), (7, 13), (13, 14), (14, 15),
    ),
    sigmas=(
        0.089, 0.087, 0.107, 0.107, 0.087, 0.089, 0.107, 0.079,
        0.079, 0.035, 0.062, 0.072, 0.079, 0.079, 0.072, 0.062,
    ),
    parts=_freeze({p: _remap_paper_mpii(parts) for p, parts in _PAPER_MPII_PARTS.items()}),
)
# fmt: on

SPECS: Mapping[str, KeypointSpec] = MappingProxyType({"coco": COCO, "mpii": MPII})


def get_spec(name: str) -> KeypointSpec:
    """Look a spec up by (case-insensitive) name; unknown names list the known ones."""
    key = name.strip().lower()
    if key in SPECS:
        return SPECS[key]
    close = difflib.get_close_matches(key, list(SPECS), n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise KeyError(f"unknown keypoint spec {name!r}; known: {sorted(SPECS)}.{hint}")
