"""Gaussian targets and the two losses (SimpleBaseline MSE, PoseNFS vectors)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from archc.runtime.pose.keypoints import COCO
from archc.runtime.pose.losses import (
    JointsMSELoss,
    joints_mse_loss,
    parts_to_heatmaps,
    posenfs_loss,
    squash,
    squash_norm,
)
from archc.runtime.pose.targets import (
    default_sigma,
    gaussian_heatmaps,
    part_multiplicity,
    part_targets,
)


def test_gaussian_peak_sigma_and_weights() -> None:
    assert default_sigma((64, 48)) == 2.0 and default_sigma((96, 72)) == 3.0
    joints = np.array([[10.3, 20.9, 2], [5, 5, 0], [-4, 30, 2], [-9, 30, 1], [47.9, 63.9, 1]])
    maps, w = gaussian_heatmaps(joints, (64, 48))
    assert maps.shape == (5, 64, 48) and maps.dtype == np.float32
    assert maps[0, 20, 10] == 1.0 and maps[0].argmax() == 20 * 48 + 10
    assert maps[0, 20, 12] == pytest.approx(np.exp(-4 / 8))  # sigma 2, two pixels away
    # labelled / unlabelled / tail on the map (HRNet keeps it) / fully off / corner
    assert w[:, 0].tolist() == [1, 0, 1, 0, 1]
    assert maps[1].max() == 0 and maps[3].max() == 0 and 0 < maps[2].max() < 1


def test_subpixel_gaussian_is_centred_on_the_exact_position() -> None:
    maps, _ = gaussian_heatmaps(np.array([[20.3, 30.8, 2]]), (64, 48), subpixel=True)
    ys, xs = np.mgrid[:64, :48] + 0.5
    m = maps[0].astype(np.float64)
    assert np.allclose([(m * xs).sum() / m.sum(), (m * ys).sum() / m.sum()], [20.3, 30.8])


def test_part_views_of_targets() -> None:
    maps = np.random.default_rng(0).random((2, 17, 4, 3))
    parts = part_targets(maps, COCO.parts[5])
    assert [p.shape[1] for p in parts] == [7, 2, 2, 2, 4]
    assert np.array_equal(parts[1][:, 1], maps[:, 9])
    assert part_multiplicity(COCO.parts[8], 17).tolist() == (
        [1] * 5 + [2] * 4 + [1] * 2 + [1] * 2 + [2] * 2 + [1] * 2
    )


def _hrnet_joints_mse(pred, gt, weight):
    """HRNet's JointsMSELoss loop, verbatim in spirit: the reference."""
    b, k = pred.shape[:2]
    hp, hg = pred.reshape(b, k, -1).split(1, 1), gt.reshape(b, k, -1).split(1, 1)
    loss = 0.0
    for j in range(k):
        p, g = hp[j].squeeze(), hg[j].squeeze()
        loss += 0.5 * torch.nn.functional.mse_loss(p * weight[:, j], g * weight[:, j])
    return loss / k


def test_joints_mse_matches_the_simplebaseline_loop() -> None:
    g = torch.Generator().manual_seed(0)
    pred, gt = torch.rand(3, 17, 8, 6, generator=g), torch.rand(3, 17, 8, 6, generator=g)
    weight = (torch.rand(3, 17, 1, generator=g) > 0.3).float()
    ref = _hrnet_joints_mse(pred, gt, weight)
    assert torch.allclose(joints_mse_loss(pred, gt, weight), ref)
    assert torch.allclose(JointsMSELoss()(pred, gt, weight), ref)
    unweighted = JointsMSELoss(use_target_weight=False)(pred, gt, weight)
    assert torch.allclose(unweighted, 0.5 * ((pred - gt) ** 2).mean())


@pytest.mark.parametrize("loss_fn", [joints_mse_loss, posenfs_loss])
def test_zero_weight_joints_contribute_nothing(loss_fn) -> None:
    g = torch.Generator().manual_seed(1)
    pred = torch.rand(2, 17, 8, 6, generator=g, requires_grad=True)
    gt = torch.rand(2, 17, 8, 6, generator=g)
    weight = torch.ones(2, 17, 1)
    weight[0, 3] = weight[1, 16] = 0
    loss = loss_fn(pred, gt, weight)
    loss.backward()
    assert pred.grad[0, 3].abs().sum() == 0 and pred.grad[1, 16].abs().sum() == 0
    assert pred.grad[0, 4].abs().sum() > 0
    garbage = pred.detach().clone()
    garbage[0, 3] = 1e6
    garbage[1, 16] = -1e6
    assert torch.allclose(loss_fn(garbage, gt, weight), loss.detach())


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(-1e3, 1e3), min_size=8, max_size=8))
def test_squash_keeps_direction_and_has_norm_below_one(values) -> None:
    v = torch.tensor(values, dtype=torch.float64)
    s = squash(v)
    n2 = float(v.pow(2).sum())
    assert float(s.norm()) < 1.0
    assert float(s.norm()) == pytest.approx(n2 / (1 + n2), rel=1e-9, abs=1e-12)
    assert float(squash_norm(v)) == pytest.approx(n2 / (1 + n2), rel=1e-12, abs=1e-15)
    if n2 > 1e-6:
        assert float(torch.dot(s, v) / (s.norm() * v.norm())) == pytest.approx(1.0)


def test_squash_of_zero_is_zero_with_finite_gradient() -> None:
    v = torch.zeros(4, 8, requires_grad=True)
    squash(v).sum().backward()
    assert torch.equal(squash(v.detach()), torch.zeros(4, 8))
    assert torch.isfinite(v.grad).all()


def _part_outputs(parts, lengths2: dict[int, float], d: int = 8):
    """Part outputs where every vector of keypoint k has squared norm lengths2[k]."""
    outs = []
    for part in parts:
        v = torch.zeros(1, len(part), d, 4, 3)
        for i, k in enumerate(part):
            v[0, i, 0] = lengths2[k] ** 0.5
        outs.append(v.reshape(1, len(part) * d, 4, 3))
    return outs


def test_parts_summed_into_keypoint_maps_eq7() -> None:
    lengths2 = {k: float(k + 1) for k in range(17)}
    outs = _part_outputs(COCO.parts[8], lengths2)
    maps = parts_to_heatmaps(outs, COCO.parts[8], 17)
    f = np.array([n / (1 + n) for n in lengths2.values()])
    mult = part_multiplicity(COCO.parts[8], 17)
    assert np.allclose(maps[0, :, 0, 0].numpy(), f * mult)  # elbows counted twice
    mean = parts_to_heatmaps(outs, COCO.parts[8], 17, reduce="mean")
    assert np.allclose(mean[0, :, 2, 1].numpy(), f)
    with pytest.raises(ValueError, match="expected 7x8"):
        parts_to_heatmaps([outs[1], *outs[1:]], COCO.parts[8], 17)


def test_posenfs_loss_is_eq6_and_a_rescaled_joints_mse() -> None:
    g = torch.Generator().manual_seed(2)
    pred, gt = torch.rand(2, 17, 8, 6, generator=g), torch.rand(2, 17, 8, 6, generator=g)
    expected = ((pred - gt) ** 2).sum(dim=(2, 3)).mean()
    assert torch.allclose(posenfs_loss(pred, gt), expected)
    assert torch.allclose(posenfs_loss(pred, gt), joints_mse_loss(pred, gt) * 2 * 8 * 6)
