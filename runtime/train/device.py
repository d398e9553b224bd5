"""Device choice, determinism and the per-epoch seeding of a run.

Why reseed every epoch instead of saving RNG states: the randomness of epoch
`e` (torch's global generator, used by dropout-like ops; the shuffling order;
the augmentation, drawn per item in the dataset) is then a pure function of
(seed, e). A run resumed at epoch `e` draws exactly what an uninterrupted run
draws, whatever happened before -- validation, a different worker count, a
kill in the middle of an epoch -- with nothing to restore.

Determinism (`deterministic=True`): `torch.use_deterministic_algorithms(True)`
(ops without a deterministic kernel raise instead of varying), cuDNN
benchmarking off, cuBLAS's fixed workspace, and a pinned number of CPU threads
(the config's `threads`; a new deterministic run records the count it started
with, and a resumed one uses that count again), because CPU reductions may
split work differently with another thread count. Without it cuDNN
benchmarks convolutions (faster, not bit-reproducible).
"""

from __future__ import annotations

import os

import numpy as np
import torch

from archc.runtime.train.config import TrainConfig, TrainError

# Mixed with (seed, epoch) so the shuffling stream differs from the augmentation
# stream (`augment.item_rng`), which SeedSequence-mixes (seed, epoch, index).
_SHUFFLE_TAG = 0x5EED_0F_0D
_TORCH_TAG = 0x70_2C4


def select_device(name: str) -> torch.device:
    """`auto` (CUDA when available, else CPU), `cpu` or `cuda`."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise TrainError(
            "--device cuda: no CUDA device is available (torch "
            f"{torch.__version__}); use --device cpu or auto"
        )
    return torch.device(name)


def configure(config: TrainConfig, device: torch.device) -> int:
    """Apply the determinism settings; returns the CPU thread count in use."""
    if config.deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True)
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True
    else:
        torch.backends.cudnn.benchmark = device.type == "cuda"
    if config.threads:
        torch.set_num_threads(config.threads)
    return torch.get_num_threads()


def derived_seed(seed: int, epoch: int, tag: int) -> int:
    """A 63-bit seed mixed from (seed, epoch, tag) by numpy's SeedSequence."""
    state = np.random.SeedSequence([seed, epoch, tag]).generate_state(2, dtype=np.uint32)
    return int((int(state[0]) << 31) ^ int(state[1]))


def shuffle_order(n: int, seed: int, epoch: int) -> list[int]:
    """The training order of epoch `epoch`: a permutation of range(n)."""
    generator = torch.Generator().manual_seed(derived_seed(seed, epoch, _SHUFFLE_TAG))
    return torch.randperm(n, generator=generator).tolist()


def seed_epoch(seed: int, epoch: int) -> None:
    """Reseed torch's global generators (CPU and CUDA) for epoch `epoch`."""
    torch.manual_seed(derived_seed(seed, epoch, _TORCH_TAG))


def amp_enabled(config: TrainConfig, device: torch.device) -> bool:
    """Mixed precision only on CUDA (float16 autocast with a gradient scaler)."""
    return config.amp and device.type == "cuda"
