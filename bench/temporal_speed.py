"""The temporal path's three speeds, measured in one run with random weights:

1. one multi-frame training step (forward + backward of a config's T frames through
   the supernet, from the key maps) against the same step through the config's
   derived module: the price of weight sharing, as a ratio;
2. online evaluation: validation clips per second of one config (flip test off),
   after BN recalibration, as the temporal search runs it;
3. online inference at batch 1 on one thread: key net + derived T-net against the
   key net on every frame (frames/s and their ratio).

    python bench/temporal_speed.py [--space vipnas] [--repeats 5]

`tiny` is examples/spaces/tiny_temporal.arch at 64x48 (T=3) with tiny_key.arch;
`vipnas` is vipnas_temporal.arch at 256x192 (T=3) with the ViPNAS-MobileNetV3 net
(examples/nets/vipnas_mbv3.arch) as the key net, as in the paper.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch

import archc
from archc.runtime.pose.losses import JointsMSELoss
from archc.runtime.temporal.clip_model import ClipModel, Propagation
from archc.runtime.temporal.contract import temporal_contract
from archc.runtime.temporal.keynet import KeyNet
from archc.runtime.weights import save_weights
from archc.torch import build_module, build_supernet

ROOT = Path(__file__).resolve().parent.parent
SPACES = {
    "tiny": ("examples/spaces/tiny_temporal.arch", "examples/nets/tiny_key.arch"),
    "vipnas": ("examples/spaces/vipnas_temporal.arch", "examples/nets/vipnas_mbv3.arch"),
}


def _median_seconds(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        begin = time.perf_counter()
        fn()
        times.append(time.perf_counter() - begin)
    return statistics.median(times)


def _train_step(model, key_maps, frames, target) -> None:
    mse = JointsMSELoss()
    out = model(key_maps, frames)
    mse(out.flatten(0, 1), target.flatten(0, 1)).backward()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", choices=sorted(SPACES), default="tiny")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batch", type=int, default=8)
    args = parser.parse_args()
    space_file, key_file = (ROOT / p for p in SPACES[args.space])
    space = archc.load(space_file)
    contract = temporal_contract(space)
    torch.manual_seed(0)
    key_fixed = archc.load(key_file)
    weights = Path("/tmp/archc-bench-key.safetensors")
    save_weights(build_module(key_fixed), weights, {"format": "bench"})
    key = KeyNet.build(key_fixed, weights)
    config = space.sample_within(0)  # within the file's MAC budget
    supernet = build_supernet(space)
    supernet.set_active(config)
    derived = space.derive(config)
    module = build_module(derived)
    geometry, t = contract.geometry, contract.length
    (h, w), (hh, hw), k = geometry.input_size, geometry.heatmap_size, geometry.num_keypoints
    b = args.batch
    clips = torch.randn(b, t + 1, 3, h, w)
    target = torch.rand(b, t, k, hh, hw)
    key_maps = key(clips[:, 0])
    print(
        f"{space.name}: T={t}, config {space.cost(config).macs / 1e6:.1f}M MACs over the "
        f"frames; key net {key_fixed.name} {key_fixed.cost(key_fixed.default()).macs / 1e6:.1f}M"
        f" MACs; {torch.get_num_threads()} threads"
    )
    sup = Propagation(supernet, contract).train()
    der = Propagation(module, contract).train()
    s = _median_seconds(lambda: _train_step(sup, key_maps, clips[:, 1:], target), args.repeats)
    d = _median_seconds(lambda: _train_step(der, key_maps, clips[:, 1:], target), args.repeats)
    print(
        f"1. training step, batch {b}: supernet {s * 1e3:.1f} ms, derived {d * 1e3:.1f} ms, "
        f"ratio {s / d:.2f}"
    )
    model = ClipModel(key, Propagation(supernet, contract)).eval()
    with torch.no_grad():
        e = _median_seconds(lambda: model(clips), args.repeats)
    print(f"2. online evaluation, batch {b}: {b / e:.1f} clips/s ({b * (t + 1) / e:.1f} frames/s)")
    torch.set_num_threads(1)
    one = clips[:1]
    online = Propagation(module, contract).eval()
    with torch.no_grad():
        both = _median_seconds(lambda: online(key(one[:, 0]), one[:, 1:]), args.repeats * 4)
        alone = _median_seconds(lambda: [key(one[:, i]) for i in range(t + 1)], args.repeats * 4)
    fps, key_fps = (t + 1) / both, (t + 1) / alone
    print(
        f"3. inference, batch 1, 1 thread: key net + T-net {fps:.1f} frames/s, key net on "
        f"every frame {key_fps:.1f} frames/s, ratio {fps / key_fps:.2f}"
    )


if __name__ == "__main__":
    main()
