"""The cost term of a differentiable search's loss (EfficientPose Eq. 6, FBNet).

Every form prices the expected cost E (MACs, params or LUT latency under the
architecture's probabilities) relative to a target T, never in raw units:
the published forms take the log of a raw cost, and a cost below one unit
(0.5 ms, 0.8 GMACs) then gives a negative log that, multiplied into the loss,
makes the search *reward* cost (re-implementations patch the NaNs and negative
losses by hand). With the ratio the term has the same meaning at every scale:

- `log` (EfficientPose): L + lambda * ln(E / T); additive, so the task loss
  keeps its sign; zero at the target, pushing down harder the further above.
  (The paper's log base tau only rescales lambda: lambda_paper = lambda * ln tau.)
- `fbnet` (FBNet, ProxylessNAS): L * lambda * ln(1 + E / T) ** beta; the
  argument of the log is above 1, so the factor is positive at any cost.
- `linear`: L + lambda * E / T, the plainest penalty.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

FORMS = ("log", "fbnet", "linear")


@dataclass(frozen=True)
class CostTerm:
    """`weight` (lambda) x the form's penalty of `expected / target`."""

    form: str
    weight: float
    target: float
    beta: float = 0.6  # FBNet's exponent

    def __post_init__(self) -> None:
        if self.form not in FORMS:
            raise ValueError(f"unknown cost form {self.form!r}; expected one of {', '.join(FORMS)}")
        if not self.weight >= 0:
            raise ValueError(f"the cost weight (lambda) must be >= 0, got {self.weight}")
        if not self.target > 0:
            raise ValueError(f"a cost target must be > 0, got {self.target}")

    def __call__(self, task_loss: torch.Tensor, expected: torch.Tensor) -> torch.Tensor:
        """The loss to minimise: the task loss with the cost term applied."""
        ratio = expected / self.target
        if self.form == "log":
            return task_loss + self.weight * torch.log(ratio)
        if self.form == "fbnet":
            return task_loss * self.weight * torch.log1p(ratio) ** self.beta
        return task_loss + self.weight * ratio
