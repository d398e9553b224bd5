"""The options of a training run and the geometry a network imposes on the data.

Why a frozen record saved as JSON: a run directory must say, on its own, how it
was made, and `--resume` must continue with exactly those options. So every
option that changes the weights lives in `TrainConfig`, written once to
`RUN/config.json` and read back on resume; the few that do not (`workers`,
`device`, `data`) may differ on resume (`RESUME_MAY_CHANGE`).

`NetGeometry` is read from the compiled network rather than given on the
command line: the input node's shape fixes the crop size, the output node's
shape fixes the heatmap size and the number of keypoints. `geometry_of` reads
the graph attributes only (no compiler import: the runtime stays below the
compiler, see DESIGN.md).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any, Literal

from archc.compiler.ir import facts

SCHEDULES = ("step", "cosine")
DEVICES = ("auto", "cpu", "cuda")
DROP_PATH_SCHEDULES = ("constant", "linear")
RESUME_MAY_CHANGE = frozenset({"workers", "device", "data"})
CONFIG_FORMAT = "archc-train-config"


class TrainError(ValueError):
    """A run that cannot start or continue; the message is complete for the user."""


@dataclass(frozen=True)
class TrainConfig:
    """Every option of a run (defaults: SimpleBaseline / HRNet's COCO recipe, Adam).

    `lr_steps` are the epochs after which the step schedule multiplies the rate
    by `lr_factor` (HRNet's `LR_STEP`: [90, 120] trains epochs 1-90 at `lr`);
    None places them at 90/140 and 120/140 of the run (the published 140-epoch
    recipe, stretched to any length). `limit_train` and
    `limit_val` keep the persons of the first N images of a split (quick runs,
    tests); validation then scores against those images' ground truth only.
    `threads` None leaves torch's default (deterministic runs pin it).
    `budget_seconds` trains for about that long instead of a fixed length: `epochs` is
    then the most there may be, and the run fixes its length after the first epoch
    (`with_budget_epochs`). `drop_path_schedule` "linear" ramps every drop-path rate
    from 0 in epoch 1 to (E - 1) / E of its value in the last (DARTS).
    """

    data: str
    epochs: int = 140
    batch: int = 32
    lr: float = 1e-3
    schedule: Literal["step", "cosine"] = "step"
    lr_steps: tuple[int, ...] | None = None
    lr_factor: float = 0.1
    min_lr: float = 0.0
    weight_decay: float = 0.0
    seed: int = 0
    workers: int = 0
    device: Literal["auto", "cpu", "cuda"] = "auto"
    deterministic: bool = False
    threads: int | None = None
    amp: bool = True
    val_every: int = 1
    limit_train: int | None = None
    limit_val: int | None = None
    flip_test: bool = True
    augment: bool = True
    sigma: float | None = None
    budget_seconds: float | None = None
    drop_path_schedule: Literal["constant", "linear"] = "constant"

    def __post_init__(self) -> None:
        if self.lr_steps is not None:
            object.__setattr__(self, "lr_steps", tuple(int(s) for s in self.lr_steps))
        for problem in self._problems():
            raise TrainError(problem)

    def _problems(self):
        positive = {"epochs": self.epochs, "batch": self.batch, "val_every": self.val_every}
        for name, value in positive.items():
            if value < 1:
                yield f"{name} must be >= 1, got {value}"
        if not self.lr > 0:
            yield f"lr must be > 0, got {self.lr}"
        if self.schedule not in SCHEDULES:
            yield f"schedule must be one of {', '.join(SCHEDULES)}, got {self.schedule!r}"
        if self.drop_path_schedule not in DROP_PATH_SCHEDULES:
            yield (
                f"drop_path_schedule must be one of {', '.join(DROP_PATH_SCHEDULES)}, "
                f"got {self.drop_path_schedule!r}"
            )
        if self.device not in DEVICES:
            yield f"device must be one of {', '.join(DEVICES)}, got {self.device!r}"
        for name in ("seed", "workers", "min_lr", "weight_decay"):
            if getattr(self, name) < 0:
                yield f"{name} must be >= 0, got {getattr(self, name)}"
        for name in ("limit_train", "limit_val", "threads"):
            value = getattr(self, name)
            if value is not None and value < 1:
                yield f"{name} must be >= 1, got {value}"
        if self.budget_seconds is not None and not self.budget_seconds > 0:
            yield f"budget_seconds must be > 0, got {self.budget_seconds}"
        if self.sigma is not None and not self.sigma > 0:
            yield f"sigma must be > 0, got {self.sigma}"
        if self.lr_steps is not None and any(s < 1 for s in self.lr_steps):
            yield f"lr_steps must be epochs >= 1, got {list(self.lr_steps)}"

    def to_dict(self) -> dict[str, Any]:
        doc = dataclasses.asdict(self)
        doc["lr_steps"] = None if self.lr_steps is None else list(self.lr_steps)
        return {"format": CONFIG_FORMAT, **doc}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"

    @classmethod
    def from_dict(cls, doc: dict[str, Any], source: str = "config") -> TrainConfig:
        doc = dict(doc)
        if doc.pop("format", CONFIG_FORMAT) != CONFIG_FORMAT:
            raise TrainError(f"{source}: not an archc training config")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(doc) - names)
        if unknown:
            raise TrainError(f"{source}: unknown options {unknown}")
        return cls(**doc)

    def differences(self, other: TrainConfig) -> list[str]:
        """Options (other than `RESUME_MAY_CHANGE`) whose values differ, as text."""
        mine, theirs = self.to_dict(), other.to_dict()
        free = set(RESUME_MAY_CHANGE)
        if (
            mine["budget_seconds"] is not None
            and mine["budget_seconds"] == theirs["budget_seconds"]
        ):
            free.add("epochs")  # the budget fixed them after the first epoch
        return [
            f"{k}: {mine[k]!r} (the run has {theirs[k]!r})"
            for k in mine
            if k not in free and mine[k] != theirs[k]
        ]

    def with_budget_epochs(self, first_epoch_seconds: float) -> TrainConfig:
        """The config with `epochs` fixed by the time budget: the whole number of epochs of
        the first one's measured time nearest to `budget_seconds`, at least 1 and at most
        `epochs`. Nearest, not floor: two runs with epochs of different lengths then miss
        the budget by at most half an epoch each, in either direction, rather than the
        one with long epochs always stopping up to a whole epoch short.

        Why after the first epoch: every schedule trains epoch 1 at `lr` whatever the
        length, so the first epoch is the same run either way and measures the real speed
        (data loading, validation, this machine). The rule is idempotent (applying it to
        its own result changes nothing), so a resume re-derives the same number from the
        first epoch's metrics line.
        """
        if self.budget_seconds is None:
            return self
        fits = round(self.budget_seconds / max(first_epoch_seconds, 1e-9))
        epochs = min(self.epochs, max(1, fits))
        return self if epochs == self.epochs else dataclasses.replace(self, epochs=epochs)


@dataclass(frozen=True)
class NetGeometry:
    """What a network fixes about its data: (H, W) of the input crop and of the
    heatmaps, the number of keypoints (heatmap channels), and for a temporal net the
    number of propagated frames T (its data are clips of a key frame and T frames;
    0: single crops)."""

    name: str
    input_size: tuple[int, int]
    heatmap_size: tuple[int, int]
    num_keypoints: int
    frames: int = 0

    def to_dict(self) -> dict[str, Any]:
        doc = {
            "name": self.name,
            "input_size": list(self.input_size),
            "heatmap_size": list(self.heatmap_size),
            "num_keypoints": self.num_keypoints,
        }
        return {**doc, "frames": self.frames} if self.frames else doc


def geometry_of(space: Any) -> NetGeometry:
    """The geometry of a fixed network (a `Space` without choices, or its graph).

    Pose training needs one RGB image input [3, H, W] and one heatmap output
    [K, h, w]; anything else is a `TrainError` that says what was found.
    """
    graph = getattr(space, "graph", space)
    name = facts(graph).name
    inputs, outputs = dict(facts(graph).inputs), dict(facts(graph).outputs)
    if len(inputs) != 1 or len(outputs) != 1:
        temporal = (
            "; a temporal space (key heatmaps and frames) trains with `archc supernet train "
            "--key-net` and runs with `archc video` (docs/temporal.md)"
            if len(inputs) > 1
            else ""
        )
        raise TrainError(
            f"`{name}` has inputs {sorted(inputs)} and outputs {sorted(outputs)}; "
            f"pose training needs one image input and one heatmap output{temporal}"
        )
    (in_name, in_id), (out_name, out_id) = next(iter(inputs.items())), next(iter(outputs.items()))
    in_shape = tuple(graph.nodes[in_id]["ir"].shape)
    out_shape = tuple(graph.nodes[out_id]["ir"].shape)
    if len(in_shape) != 3 or in_shape[0] != 3:
        raise TrainError(
            f"`{name}`: input `{in_name}` is {list(in_shape)}; pose training needs "
            "an RGB image [3, H, W]"
        )
    if len(out_shape) != 3:
        raise TrainError(
            f"`{name}`: output `{out_name}` is {list(out_shape)}; pose training "
            "needs heatmaps [K, h, w]"
        )
    return NetGeometry(
        name,
        (int(in_shape[1]), int(in_shape[2])),
        (int(out_shape[1]), int(out_shape[2])),
        int(out_shape[0]),
    )
