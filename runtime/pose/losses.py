"""Pose losses (torch): the SimpleBaseline heatmap MSE and PoseNFS's
vector-in-pixel part representation.

`joints_mse_loss` is SimpleBaseline / HRNet's `JointsMSELoss`:

    L = 1/K sum_k 0.5 * mean_{b,x,y} (w_bk * (pred_bkxy - gt_bkxy))^2

The 0.5 is theirs (half the squared error, kept so published learning rates
transfer); weights multiply both prediction and target, as in their code, so
a joint with weight 0 contributes exactly nothing (not even gradient).

PoseNFS III-D (vector in pixel). A part head p emits, per keypoint i of the
part and per pixel, a d-dim vector v (d = 8 in the paper). Channel layout
used here: (B, J_p * d, h, w), keypoint-major -- channels [i*d, (i+1)*d) are
keypoint i of the part, in the order the part lists its keypoints. Then

    squash(v) = |v|^2 / (1 + |v|^2) * v / |v|                   (Eq. 4)
    f_S(v)    = |squash(v)| = |v|^2 / (1 + |v|^2)  in [0, 1)     (Eq. 5)
    H_k(x, y) = sum_{p, i} f_S(T_p^i(x, y)) * 1(k, p, i)         (Eq. 7)

i.e. each part map is the squashed length of its vectors, and keypoint k's
map sums the maps of every part containing k (overlapping groupings such as
P = 8 count an elbow twice; `reduce="mean"` averages instead, which the paper
calls the same effect). The training loss (Eq. 6) is the per-pixel squared
error summed over the map, averaged over keypoints (and here the batch),
with unlabelled keypoints masked out:

    L = 1/K sum_k w_k sum_{x,y} (H_k(x, y) - H_k^gt(x, y))^2

which is `joints_mse_loss` times 2 h w up to the masking of the mean; either
works with the summed maps.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
from torch import Tensor, nn

from archc.runtime.pose.keypoints import Parts


def joints_mse_loss(pred: Tensor, target: Tensor, target_weight: Tensor | None = None) -> Tensor:
    """SimpleBaseline JointsMSELoss on (B, K, H, W) maps; weights (B, K, 1)."""
    diff = pred - target
    if target_weight is not None:
        diff = diff * target_weight.reshape(*target_weight.shape[:2], 1, 1)
    return 0.5 * diff.pow(2).mean()


class JointsMSELoss(nn.Module):
    """Module form of `joints_mse_loss` (HRNet's constructor argument kept)."""

    def __init__(self, use_target_weight: bool = True) -> None:
        super().__init__()
        self.use_target_weight = use_target_weight

    def forward(self, pred: Tensor, target: Tensor, target_weight: Tensor | None = None) -> Tensor:
        return joints_mse_loss(pred, target, target_weight if self.use_target_weight else None)


def squash_norm(v: Tensor, dim: int = -1) -> Tensor:
    """f_S(v) = |v|^2 / (1 + |v|^2): the squashed length, from |v|^2 directly
    (no square root, so it is smooth at v = 0)."""
    sq = v.pow(2).sum(dim=dim, keepdim=True)
    return (sq / (1.0 + sq)).squeeze(dim)


def squash(v: Tensor, dim: int = -1, eps: float = 1e-12) -> Tensor:
    """Capsule squash (Sabour et al.): same direction as v, length f_S(v) < 1.

    `eps` keeps the zero vector at zero instead of 0/0.
    """
    sq = v.pow(2).sum(dim=dim, keepdim=True)
    return v * (sq / (1.0 + sq) / torch.sqrt(sq + eps))


def part_score_maps(part_output: Tensor, num_part_keypoints: int, dim: int = 8) -> Tensor:
    """(B, J*d, h, w) part head output -> (B, J, h, w) squashed lengths."""
    b, c, h, w = part_output.shape
    if c != num_part_keypoints * dim:
        raise ValueError(f"part output has {c} channels, expected {num_part_keypoints}x{dim}")
    return squash_norm(part_output.reshape(b, num_part_keypoints, dim, h, w), dim=2)


def parts_to_heatmaps(
    part_outputs: Sequence[Tensor],
    parts: Parts,
    num_keypoints: int,
    dim: int = 8,
    reduce: Literal["sum", "mean"] = "sum",
) -> Tensor:
    """Eq. (7): keypoint maps (B, K, h, w) from the P part head outputs."""
    if len(part_outputs) != len(parts):
        raise ValueError(f"{len(part_outputs)} part outputs for {len(parts)} parts")
    first = part_outputs[0]
    b, _, h, w = first.shape
    maps = first.new_zeros(b, num_keypoints, h, w)
    counts = [0] * num_keypoints
    for out, part in zip(part_outputs, parts, strict=True):
        idx = torch.tensor(part, device=out.device)
        maps = maps.index_add(1, idx, part_score_maps(out, len(part), dim))
        for k in part:
            counts[k] += 1
    if reduce == "mean":
        maps = maps / first.new_tensor(counts).clamp(min=1).reshape(1, -1, 1, 1)
    return maps


def posenfs_loss(heatmaps: Tensor, target: Tensor, target_weight: Tensor | None = None) -> Tensor:
    """Eq. (6): sum over pixels, mean over keypoints and batch, masked joints 0."""
    err = (heatmaps - target).pow(2).sum(dim=(2, 3))
    if target_weight is not None:
        err = err * target_weight.reshape(err.shape)
    return err.mean()
