"""AutoPose Table 4: the multi-branch search space against the single-branch one.

examples/spaces/autopose.arch at a 128x96 crop, reduced to fit minutes of CPU (WIDTH 8,
one multi-scale module per stage; cells and switches as in the paper), searched by
AutoPose's bi-level method (`--strategy reinforce`: RNN controller over the branch
switches, Gumbel cells with the weights) for the budget, once as written (every branch
of every stage may be on: `multi`) and once with `-D SINGLE=true` (at most one branch
on per stage, the paper's chain-like variant: `single`). The controller is rewarded by
minus the held-out heatmap loss (an AP of minutes-old shared weights is 0 here), with
4 updates of 2 structures per epoch. Each find is trained from scratch with the recipe
for the budget; the claim holds when the multi-branch find reaches the higher AP.

    .venv/bin/python bench/ablations/autopose.py [--seeds 0 1] [--budget S]
"""

from __future__ import annotations

import sys
from functools import partial

from common import CROP, Bench, Claim, arguments, parallel

FILE = ["examples/spaces/autopose.arch", "-D", CROP, "-D", "WIDTH=8", "-D", "MODULES=1"]
SPACES = {"multi": FILE, "single": [*FILE, "-D", "SINGLE=true"]}
CONTROLLER = [
    "--strategy",
    "reinforce",
    "--reward",
    "loss",
    "--calibration",
    "64",
    "--controller-updates",
    "4",
    "--derive-samples",
    "8",
]
CLAIMS = [
    Claim(
        "AutoPose Table 4", "the multi-branch space beats the single-branch one", "multi", "single"
    )
]


def main() -> int:
    args = arguments(__doc__, budget=600)
    bench = Bench("autopose", args)
    data = bench.data()
    for seed in bench.seeds:
        parallel(
            *(
                partial(bench.searched, name, seed, space, data, *CONTROLLER)
                for name, space in SPACES.items()
            )
        )
    bench.report(CLAIMS)
    return 0


if __name__ == "__main__":
    sys.exit(main())
