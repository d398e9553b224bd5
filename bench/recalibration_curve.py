"""How many recalibration crops (R) and validation images (V) a search needs: the rank
correlation (Kendall tau) of subnets' shared-weight scores at each R (and V) with their
scores at the largest R (and V).

Trains a supernet of mobile_small at 128x96 with the sandwich rule on a generated data
set (or takes --supernet), samples --subnets configs, evaluates each at every R with all
validation images, and at every V with the largest R, and prints tau for AP and for the
heatmap loss. The defaults of `archc search --calibration/--val-images` come from this
curve (docs/search.md).

    python bench/recalibration_curve.py [--epochs 6] [--subnets 30] [--supernet W]
        [--space FILE --data DIR]

With --space, --data and --supernet, the curve is measured on a supernet trained
elsewhere (e.g. `archc supernet train examples/spaces/demo.arch --data DIR`), on
DIR's splits: a supernet whose subnets reach a non-zero AP, which a few CPU epochs
of mobile_small do not.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

import torch
from scipy.stats import kendalltau

import archc
from archc.cli import main as cli
from archc.runtime.search.drivers.sandwich import SandwichStep
from archc.runtime.search.evaluate import SharedWeightEvaluator, cache_split
from archc.runtime.search.session import geometry_of_space
from archc.runtime.train import TrainConfig, fit
from archc.runtime.train.data import calibration_batches, find_split, load_split
from archc.torch import build_supernet

warnings.filterwarnings("ignore", message="Failed to initialize NumPy")
ROOT = Path(__file__).resolve().parent.parent
RS = (8, 16, 32, 64, 128, 256, 512)
VS = (16, 32, 64, 100, 150)


def _space(work: Path):
    text = (ROOT / "examples/spaces/mobile_small.arch").read_text()
    text = text.replace("input image: [3, 256, 192]", "input image: [3, 128, 96]")
    (work / "mobile_small.arch").write_text(text)
    return archc.load(work / "mobile_small.arch")


def _train(space, data: Path, work: Path, epochs: int) -> torch.nn.Module:
    torch.manual_seed(0)
    supernet = build_supernet(space)
    step = SandwichStep(supernet, space, random=2, lr=2e-3, calibration=128)
    config = TrainConfig(
        data=str(data),
        epochs=epochs,
        batch=16,
        lr=2e-3,
        schedule="cosine",
        workers=1,
        threads=1,
        val_every=epochs,
        sigma=2.0,
    )
    begin = time.perf_counter()
    fit(
        step,
        geometry_of_space(space),
        config,
        work / "supernet",
        on_epoch=lambda r: print(
            f"  epoch {r['epoch']}: loss {r['loss']:.5f} AP {r['AP']} / {r.get('AP_smallest')}",
            flush=True,
        ),
    )
    print(f"supernet trained in {time.perf_counter() - begin:.0f} s", flush=True)
    return supernet


def _scores(evaluator, configs) -> tuple[list[float], list[float]]:
    out = [evaluator.evaluate(c) for c in configs]
    return [r["AP"] for r in out], [-r["loss"] for r in out]


def _tau(a, b) -> float:
    return float(kendalltau(a, b).statistic)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--subnets", type=int, default=30)
    parser.add_argument("--supernet", help="trained supernet weights (skips training)")
    parser.add_argument("--space", help="the supernet's .arch file (default mobile_small)")
    parser.add_argument("--data", help="data directory (default: 600 generated images)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        data = Path(args.data) if args.data else work / "data"
        if not args.data:
            synth = ["data", "synth", str(data), "--train", "600", "--val", "150"]
            assert cli.main([*synth, "--size", "192x256"]) == 0
        space = archc.load(args.space) if args.space else _space(work)
        if args.supernet:
            from archc.runtime.weights import load_weights

            supernet = build_supernet(space)
            load_weights(supernet, args.supernet)
        else:
            supernet = _train(space, data, work, args.epochs)
        geometry, config = geometry_of_space(space), TrainConfig(data=str(data), batch=32)
        val = load_split(find_split(data, "val"), geometry, config, train=False, limit=None)
        train = load_split(find_split(data, "train"), geometry, config, train=False, limit=None)
        configs = [space.sample(1000 + i) for i in range(args.subnets)]
        full = cache_split(val, 32, torch.device("cpu"))
        by_r = {}
        for r in RS:
            calib = calibration_batches(train, r, 32, 0, torch.device("cpu"))
            by_r[r] = _scores(SharedWeightEvaluator(supernet, calib, full), configs)
        ref = by_r[RS[-1]]
        print(f"\nR (crops), V = all {full.images} images: Kendall tau against R = {RS[-1]}")
        for r in RS:
            print(
                f"  R {r:4d}: AP tau {_tau(by_r[r][0], ref[0]):.3f}  "
                f"loss tau {_tau(by_r[r][1], ref[1]):.3f}"
            )
        calib = calibration_batches(train, RS[-1], 32, 0, torch.device("cpu"))
        print(f"\nV (images), R = {RS[-1]}: Kendall tau against V = all")
        for v in VS:
            part = load_split(find_split(data, "val"), geometry, config, train=False, limit=v)
            scores = _scores(
                SharedWeightEvaluator(supernet, calib, cache_split(part, 32, torch.device("cpu"))),
                configs,
            )
            print(
                f"  V {v:4d}: AP tau {_tau(scores[0], ref[0]):.3f}  "
                f"loss tau {_tau(scores[1], ref[1]):.3f}"
            )
        aps = ref[0]
        print(f"\nAP of the {len(aps)} subnets at R = {RS[-1]}: {min(aps):.3f} .. {max(aps):.3f}")


if __name__ == "__main__":
    main()
