"""archc's own claim: searched subnets dominate hand-designed nets on the AP-vs-MACs plane.

A subnet of examples/spaces/demo.arch found by the one-shot pipeline (sandwich supernet,
evolutionary search under 40M MACs ranked by validation loss, fine-tune of the find
from the supernet's weights) against three hand-designed nets of more MACs at the same
128x96 crop: tiny.arch (64M), EfficientPose-A (102M) and a reduced SimpleBaseline
(ResNet of one bottleneck per stage, planes 16-128, three 64-wide deconvs: 51M). Every
arm gets the same recipe and the same training seconds on one thread (the search arm:
60% supernet, 40% fine-tune; the search itself trains nothing and is not counted, as
in `make demo`). The claim holds for a baseline when the find has fewer MACs and a
higher AP, beyond the spread over seeds.

    .venv/bin/python bench/ablations/searched_vs_handmade.py [--seeds 0 1] [--budget S]
"""

from __future__ import annotations

import sys
from functools import partial

from common import CROP, Bench, Claim, arguments, parallel

SPACE = "examples/spaces/demo.arch"
BASELINES = {
    "tiny": ["examples/nets/tiny.arch", "-D", CROP],
    "efficientpose_a": ["examples/nets/efficientpose_a.arch", "-D", CROP],
    "simplebaseline_reduced": [
        *("examples/nets/simplebaseline_r50.arch", "-D", CROP, "-D", "DEPTHS=[1,1,1,1]"),
        *("-D", "PLANES=[16,32,64,128]", "-D", "STEM=16", "-D", "HEAD_WIDTHS=[64,64,64]"),
    ],
}
CLAIMS = [
    Claim("archc", f"the find dominates {name}", "found", name, cheaper=True) for name in BASELINES
]


def found_arm(bench: Bench, seed: int, data) -> None:
    if bench.done("found", seed):
        return
    supernet_s = round(bench.budget * 0.6)
    supernet = bench.supernet("found", seed, [SPACE], data, seconds=supernet_s)
    limits = ["--max-macs", "40M", "--objective", "loss"]
    search = bench.one_shot("found", seed, [SPACE], supernet, data, 30, *limits)
    run = bench.train(
        "found",
        seed,
        [SPACE, "--init", str(search / "best")],
        data,
        "--lr",
        "5e-4",
        stage="finetune",
        seconds=bench.budget - supernet_s,
    )
    bench.record("found", seed, run, [SPACE, "--config", str(search / "best" / "config.json")])


def main() -> int:
    args = arguments(__doc__, budget=600)
    bench = Bench("searched_vs_handmade", args)
    data = bench.data()
    for seed in bench.seeds:
        parallel(
            partial(found_arm, bench, seed, data),
            partial(bench.trained, "tiny", seed, BASELINES["tiny"], data),
        )
        parallel(
            *(
                partial(bench.trained, name, seed, BASELINES[name], data)
                for name in ("efficientpose_a", "simplebaseline_reduced")
            ),
        )
    bench.report(CLAIMS)
    return 0


if __name__ == "__main__":
    sys.exit(main())
