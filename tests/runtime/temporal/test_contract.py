"""The temporal contract: which input is the key heatmaps, which are the frames and in
what order, and the errors for spaces that are not temporal."""

from __future__ import annotations

import pytest
import torch

import archc
from archc.runtime.temporal.contract import is_temporal, propagate, temporal_contract
from archc.runtime.train import TrainError
from archc.runtime.weights import load_weights, save_weights
from archc.torch import build_supernet
from tests.runtime.temporal.temporal_fixtures import SPACE, temporal_space


@pytest.mark.parametrize("t", [1, 2, 4, 11])
def test_frames_and_outputs_are_ordered_by_their_index(t: int) -> None:
    contract = temporal_contract(temporal_space(t))
    assert contract.key_input == "key_heatmaps"
    assert contract.frames == tuple(f"image[{i}]" for i in range(1, t + 1))
    assert contract.outputs == tuple(f"heatmaps[{i}]" for i in range(1, t + 1))
    g = contract.geometry
    assert (g.input_size, g.heatmap_size, g.num_keypoints, g.frames) == ((64, 48), (16, 12), 17, t)


def test_propagate_stacks_the_frames_maps_in_order() -> None:
    space = temporal_space(2)
    contract = temporal_contract(space)
    net = build_supernet(space).eval()
    net.set_active(space.largest())
    key, frames = torch.randn(2, 17, 16, 12), torch.randn(2, 2, 3, 64, 48)
    maps = propagate(net, contract, key, frames)
    direct = net(**{"key_heatmaps": key, "image[1]": frames[:, 0], "image[2]": frames[:, 1]})
    assert maps.shape == (2, 2, 17, 16, 12)
    assert torch.equal(maps[:, 0], direct["heatmaps[1]"])
    assert torch.equal(maps[:, 1], direct["heatmaps[2]"])


TWO_IMAGES = """\
import std
net two {
    input a: [3, 32, 32]
    input b: [3, 32, 32]
    output y = cat([a, b]) -> conv(17, k=1)
}
"""


def test_a_space_without_key_heatmaps_is_not_temporal(tmp_path) -> None:
    path = tmp_path / "two.arch"
    path.write_text(TWO_IMAGES)
    space = archc.load(path)
    assert is_temporal(space)
    with pytest.raises(TrainError, match="one key-heatmap input shaped like its outputs"):
        temporal_contract(space)


def test_a_single_image_space_is_not_temporal() -> None:
    assert not is_temporal(archc.load(SPACE.parents[1] / "nets" / "tiny_key.arch"))


def _weights_load_across_t(space_at, tmp_path) -> None:
    path = tmp_path / "t3.safetensors"
    save_weights(build_supernet(space_at(3)), path, {"format": "test"})
    for t in (2, 4):
        load_weights(build_supernet(space_at(t)), path)  # strict: same names and shapes


def test_supernets_for_t2_and_t4_load_the_t3_weights(tmp_path) -> None:
    _weights_load_across_t(temporal_space, tmp_path)


@pytest.mark.slow
def test_vipnas_temporal_supernets_for_t2_and_t4_load_the_t3_weights(tmp_path) -> None:
    vipnas = SPACE.parent / "vipnas_temporal.arch"
    _weights_load_across_t(lambda t: archc.load(vipnas, defines={"T": t}), tmp_path)
