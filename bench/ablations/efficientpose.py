"""EfficientPose Table 3 (DARTS-style search against random search at equal budget) and
Table 6 (with and without spatial information correction).

Table 3: examples/spaces/efficientpose.arch at a 128x96 crop with Table 1's stages cut
to 2, 2, 3 and 2 layers (9 decisions, 25M-66M MACs, so a search fits minutes of CPU),
searched under 45M MACs two ways for the same training seconds: `darts` (weights and
alphas bi-level, the cost term of Eq. 6 towards 45M) and `random` (configs within the
limit, each trained from scratch for 3 epochs, the best by AP kept). Each find is then
trained from scratch with the recipe for the budget; the claim holds when the DARTS
find reaches the higher AP.

Table 6: EfficientPose-A (examples/nets/efficientpose_a.arch) trained with its slim
head's depthwise 3x3 correction and without it (`-D SIC=false`, 0.2M fewer MACs).

    .venv/bin/python bench/ablations/efficientpose.py [--seeds 0 1] [--budget S]
"""

from __future__ import annotations

import sys
from functools import partial

from common import CROP, Bench, Claim, arguments, parallel

SPACE = [
    "examples/spaces/efficientpose.arch",
    "-D",
    CROP,
    "-D",
    "STAGES=[[24,2,2],[32,2,2],[64,2,3],[96,1,2]]",
]
LIMIT = ["--max-macs", "45M"]
STRATEGIES = {
    "darts": ["--strategy", "darts", "--cost-weight", "0.1"],
    "random": ["--strategy", "random", "--epochs", "3"],
}
NET = ["examples/nets/efficientpose_a.arch", "-D", CROP]
CLAIMS = [
    Claim(
        "EfficientPose Table 3",
        "DARTS search beats random search at equal budget",
        "darts",
        "random",
    ),
    Claim("EfficientPose Table 6", "spatial information correction helps", "sic", "no_sic"),
]


def net(sic: bool) -> list[str]:
    return NET if sic else [*NET, "-D", "SIC=false"]


def main() -> int:
    args = arguments(__doc__, budget=450)
    bench = Bench("efficientpose", args)
    data = bench.data()
    for seed in bench.seeds:
        parallel(
            *(
                partial(bench.searched, arm, seed, SPACE, data, *LIMIT, *options)
                for arm, options in STRATEGIES.items()
            )
        )
        parallel(
            partial(bench.trained, "sic", seed, net(sic=True), data),
            partial(bench.trained, "no_sic", seed, net(sic=False), data),
        )
    bench.report(CLAIMS)
    return 0


if __name__ == "__main__":
    sys.exit(main())
