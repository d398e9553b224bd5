"""The released S-ViPNAS-MobileNetV3 is a config of the ViPNAS Table A1 space, and its
counts match the reference exactly (shared/reference/published_architectures.md)."""

from __future__ import annotations

from pathlib import Path

import archc
from archc.compiler.space import Config

SPACES = Path(__file__).resolve().parents[2] / "examples" / "spaces"


def test_released_vipnas_mbv3_params_and_macs():
    space = archc.load(SPACES / "vipnas_mbv3.arch")
    config = Config.load(SPACES / "vipnas_mbv3.released.json")
    cost = space.cost(config)
    assert cost.params == 5_895_725
    assert abs(cost.macs - 0.734e9) / 0.734e9 < 0.005
    hrnet_gflops = space.cost(config, "hrnet").macs / 2**30
    assert round(hrnet_gflops, 3) == 0.691
