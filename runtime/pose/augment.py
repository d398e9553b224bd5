"""Training augmentation of person crops: random scale, rotation and flip, drawn
from a per-item seeded generator. Torch-free.

Why a separate, parameter-only module: the image dataset applies one draw to
one crop, the video dataset applies the *same* draw to T + 1 frames (ViPNAS
4.2), and exact resume needs the draw of item `i` in epoch `e` to depend on
nothing but (seed, epoch, i) -- never on worker count or on what was drawn
before. So parameters are drawn first, as a small frozen record, and applied
by the geometry in `affine.py`.

Defaults follow the published top-down recipes:

* scale: crop size x clip(1 + 0.35 N(0, 1), 0.65, 1.35) -- SimpleBaseline /
  HRNet COCO (`SCALE_FACTOR: 0.35`);
* rotation: clip(40 N(0, 1), -40, 40) degrees with probability 0.6 -- the
  +-40 degree range of ViPNAS 4.2 and SimpleBaseline (`ROT_FACTOR: 40`), the
  0.6 probability of HRNet / mmpose;
* horizontal flip with probability 0.5, swapping left/right keypoints.

Half-body augmentation (HRNet) is not implemented.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class AugmentConfig:
    """Strength of each augmentation; zero/False disables that one."""

    scale_factor: float = 0.35
    rotation_factor: float = 40.0
    rotation_prob: float = 0.6
    flip_prob: float = 0.5


NO_AUGMENT = AugmentConfig(scale_factor=0.0, rotation_factor=0.0, rotation_prob=0.0, flip_prob=0.0)


@dataclass(frozen=True)
class AugParams:
    """One draw: multiply the crop size by `scale`, rotate by `rotation`
    degrees, mirror when `flip`. The identity by default."""

    scale: float = 1.0
    rotation: float = 0.0
    flip: bool = False


def item_rng(seed: int, epoch: int, index: int) -> np.random.Generator:
    """Generator for one item, a pure function of (seed, epoch, index).

    numpy's SeedSequence mixes the three integers, so neighbouring items and
    epochs get independent streams.
    """
    if min(seed, epoch, index) < 0:
        raise ValueError(f"seed, epoch and index must be >= 0, got {(seed, epoch, index)}")
    return np.random.default_rng([seed, epoch, index])


def sample_params(rng: np.random.Generator, cfg: AugmentConfig) -> AugParams:
    """Draw one `AugParams`.

    Always consumes the same four numbers, whatever `cfg` enables, so that
    switching one augmentation off does not shift the others' random streams.
    """
    z_scale, z_rot, u_rot, u_flip = rng.standard_normal(), rng.standard_normal(), *rng.random(2)
    sf, rf = cfg.scale_factor, cfg.rotation_factor
    scale = float(np.clip(1.0 + sf * z_scale, 1.0 - sf, 1.0 + sf))
    rotation = float(np.clip(rf * z_rot, -rf, rf)) if u_rot < cfg.rotation_prob else 0.0
    return AugParams(scale=scale, rotation=rotation, flip=bool(u_flip < cfg.flip_prob))


def swap_pairs(keypoints: np.ndarray, flip_index: list[int]) -> np.ndarray:
    """Reorder keypoints (first axis) after a mirror: left takes right's place.

    After mirroring, what looks like a left eye is the original right eye, so
    row i of the result is row flip_index[i] of the input.
    """
    return np.asarray(keypoints)[flip_index]
