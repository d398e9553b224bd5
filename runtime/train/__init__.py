"""Training and evaluation of fixed pose networks (torch): `archc train` / `archc eval`.

Modules (docs/training.md tells the story):

- config: `TrainConfig` (every option of a run, saved as RUN/config.json),
  `NetGeometry` and `geometry_of(space)` (input, heatmap and keypoint counts
  read from the network), `TrainError`
- schedule: the step and cosine learning rates as pure functions of the epoch
- device: device choice, determinism, per-epoch seeding
- data: the data directory layout, datasets for a geometry, per-epoch loaders
- checkpoint: run directories, safetensors + JSON checkpoints committed atomically
- metrics: RUN/metrics.jsonl, one line per epoch
- validate: flip-test inference, COCO results and the ten AP/AR numbers
- step: the `TrainStep` protocol (what one optimisation step owns and does) and
  `PlainStep`, supervised training of one network
- loop: `fit`, the one epoch loop around any step, with exact resume

The runtime does not build networks: the caller passes an `nn.Module` (from
`archc.torch.build_module`) and its geometry, so this package imports nothing
of the compiler's front end.
"""

from archc.runtime.train.config import NetGeometry, TrainConfig, TrainError, geometry_of
from archc.runtime.train.loop import fit
from archc.runtime.train.step import PlainStep, StepContext, TrainStep
from archc.runtime.train.validate import evaluate, predict

__all__ = [
    "NetGeometry",
    "PlainStep",
    "StepContext",
    "TrainConfig",
    "TrainError",
    "TrainStep",
    "evaluate",
    "fit",
    "geometry_of",
    "predict",
]
