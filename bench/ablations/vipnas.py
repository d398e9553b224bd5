"""ViPNAS Table 3 and Figure 6: temporal propagation against per-frame nets at equal
MACs, per-frame allocation against one architecture for all frames, and temporal fusion.

Videos of the quick profile (8 frames each) at a 128x96 crop. The key net is
examples/nets/tiny_key.arch (22.1M MACs); the propagation nets come from
examples/spaces/tiny_temporal.arch (T = 3, their MACs summed over the frames under
44M), so key net + T-nets cost at most 16.5M MACs per frame on average. Arms, with the
same training seconds for every trained net:

- `t_vipnas`: a multi-frame supernet (sandwich over frames, from the key net's maps),
  then an evolutionary search of 40 per-frame configs scored online (AP over all
  frames, key frames included; docs/temporal.md);
- `tied`: the same supernet searched with `--tie-frames` (every frame takes the first
  frame's architecture);
- `no_fusion`: the same pipeline on the space with `-D FUSION=false` (no frame reads the
  previous heatmaps: T per-frame nets);
- `per_frame`: a spatial net of at least T-ViPNAS's MACs per frame (demo.arch's smallest
  subnet, 16.7M) trained on every frame; `key`: the key net on every frame (22.1M).

    .venv/bin/python bench/ablations/vipnas.py [--seeds 0 1] [--budget S]
"""

from __future__ import annotations

import json
import sys
from functools import partial

from common import CROP, Bench, Claim, arguments, parallel

T = 3
KEY = ["examples/nets/tiny_key.arch", "-D", CROP]
PER_FRAME = ["examples/spaces/demo.arch", "--smallest"]
TEMPORAL = [
    "examples/spaces/tiny_temporal.arch",
    "-D",
    CROP,
    "-D",
    "HEATMAPS=[17,32,24]",
    "-D",
    "BUDGET=44M",
]
SPACES = {"t_vipnas": TEMPORAL, "no_fusion": [*TEMPORAL, "-D", "FUSION=false"]}
CLAIMS = [
    Claim(
        "ViPNAS Table 3",
        "T-ViPNAS beats a per-frame net of equal MACs",
        "t_vipnas",
        "per_frame",
        cheaper=True,
    ),
    Claim(
        "ViPNAS Figure 6",
        "per-frame allocation beats one architecture for all frames",
        "t_vipnas",
        "tied",
    ),
    Claim("ViPNAS Table 3", "temporal fusion helps", "t_vipnas", "no_fusion"),
]


def temporal_arm(bench: Bench, seed: int, data, arm: str) -> None:
    """Multi-frame supernet, then the search (and, for t_vipnas, the tied search)."""
    space = SPACES[arm]
    key = bench.out / f"seed{seed}" / "key"
    supernet = bench.out / f"seed{seed}" / f"{arm}-supernet"
    if not bench.done(arm, seed):
        supernet = bench.supernet(arm, seed, space, data, "--key-net", str(key))
        search(bench, seed, data, arm, space, supernet)
    if arm == "t_vipnas" and not bench.done("tied", seed):
        search(bench, seed, data, "tied", space, supernet, "--tie-frames")


def search(bench: Bench, seed: int, data, arm: str, space, supernet, *extra: str) -> None:
    """Evolution over 40 per-frame configs; the arm's MACs are per frame, key net included."""
    folder = bench.one_shot(arm, seed, space, supernet, data, 40, *extra)
    config = folder / "best" / "config.json"
    found = [*space, "--config", str(config)]
    key_macs = bench.cost(KEY)[1]
    macs = json.loads((folder / "best.json").read_text())["best"]["macs"]
    bench.record(arm, seed, folder, found, macs=(key_macs + macs) / (T + 1), tnet_macs=macs)


def main() -> int:
    args = arguments(__doc__, budget=600)
    bench = Bench("vipnas", args)
    data = bench.data(video=True)
    for seed in bench.seeds:
        parallel(
            partial(bench.trained, "key", seed, KEY, data),
            partial(bench.trained, "per_frame", seed, PER_FRAME, data),
        )
        parallel(*(partial(temporal_arm, bench, seed, data, arm) for arm in SPACES))
    bench.report(CLAIMS)
    return 0


if __name__ == "__main__":
    sys.exit(main())
