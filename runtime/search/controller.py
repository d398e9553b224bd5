"""An RNN controller over a space's `policy` choices, trained with REINFORCE (Zoph & Le;
ENAS; AutoPose's network-level search, 3.3).

One LSTM step per policy choice, in table order: the input is the embedding of
the previous decision (a start token first), the output a softmax over the
choice's candidates. A candidate the choice's domain does not allow under the
decisions so far (dependent domains) is masked out before the softmax, so every
sample is a valid assignment. Generic over any space: it knows the choices'
names and domains, nothing of AutoPose.

`Reinforce` holds the update: advantage = reward - baseline (a moving average,
decay 0.99), loss = -(advantage x log-probability) - entropy_weight x entropy,
gradient-norm clipping, Adam (ENAS' defaults: 20 samples per update elsewhere;
AutoPose updates with batches of 2). Sampling draws from a generator the caller
seeds, so a resumed run samples what an uninterrupted one did.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from archc.compiler.space.config import ConfigError


class Controller(nn.Module):
    """`sample(generator)` -> (decisions, log-probability, entropy) over `choices`."""

    def __init__(self, table: Any, choices: Sequence[str], hidden: int = 64):
        super().__init__()
        if not choices:
            raise ValueError("a controller needs at least one policy choice")
        self.table, self.choices = table, tuple(choices)
        self.domains = [self._full_domain(c) for c in self.choices]
        sizes = [len(d) for d in self.domains]
        self.offsets = [sum(sizes[:i]) + 1 for i in range(len(sizes))]  # 0: start token
        self.embed = nn.Embedding(sum(sizes) + 1, hidden)
        self.cell = nn.LSTMCell(hidden, hidden)
        self.heads = nn.ModuleList(nn.Linear(hidden, n) for n in sizes)

    def _full_domain(self, choice: str) -> tuple:
        """Every candidate the choice can ever take: its domain's union over the values
        of the choices it reads (enumerated over those parents only)."""
        spec = self.table[choice]
        if spec.domain is not None:
            return tuple(spec.domain)
        parents = list(spec.parents)
        values: list = []
        for combo in itertools.product(*(self._full_domain(p) for p in parents)):
            assignment = dict(zip(parents, combo, strict=True))
            try:
                domain = self.table.domain_of(choice, assignment)
            except ConfigError:  # a parent's value that its own parents rule out
                continue
            values += [v for v in domain if v not in values]
        return tuple(values)

    def sample(
        self, generator: torch.Generator | None = None, greedy: bool = False
    ) -> tuple[dict[str, Any], torch.Tensor, torch.Tensor]:
        """One assignment of the policy choices, its log-probability and entropy."""
        hidden = torch.zeros(1, self.cell.hidden_size)
        state = (hidden, hidden.clone())
        token = torch.zeros(1, dtype=torch.long)
        decisions: dict[str, Any] = {}
        log_prob, entropy = torch.zeros(()), torch.zeros(())
        for i, choice in enumerate(self.choices):
            state = self.cell(self.embed(token), state)
            logits = self.heads[i](state[0])[0]
            logits = logits.masked_fill(~self._allowed(i, decisions), float("-inf"))
            probs = torch.softmax(logits, 0)
            if greedy:
                index = int(torch.argmax(probs))
            else:
                index = int(torch.multinomial(probs.detach(), 1, generator=generator))
            log_probs = torch.log_softmax(logits, 0)
            log_prob = log_prob + log_probs[index]
            entropy = entropy - (probs * log_probs.nan_to_num(0.0, neginf=0.0)).sum()
            decisions[choice] = self.domains[i][index]
            token = torch.tensor([self.offsets[i] + index])
        return decisions, log_prob, entropy

    def _allowed(self, i: int, decisions: Mapping[str, Any]) -> torch.Tensor:
        spec = self.table[self.choices[i]]
        if spec.domain is not None:
            return torch.ones(len(self.domains[i]), dtype=torch.bool)
        domain = set(self.table.domain_of(self.choices[i], decisions))
        return torch.tensor([v in domain for v in self.domains[i]])

    def probability(self, decisions: Mapping[str, Any]) -> float:
        """P(decisions) under the current policy (teacher-forced); `decisions` may be
        a prefix of the choices in order (the marginal of the rest)."""
        with torch.no_grad():
            hidden = torch.zeros(1, self.cell.hidden_size)
            state, token, total = (hidden, hidden.clone()), torch.zeros(1, dtype=torch.long), 0.0
            for i, choice in enumerate(self.choices):
                if choice not in decisions:
                    break
                state = self.cell(self.embed(token), state)
                logits = self.heads[i](state[0])[0]
                logits = logits.masked_fill(~self._allowed(i, decisions), float("-inf"))
                index = self.domains[i].index(decisions[choice])
                total += float(torch.log_softmax(logits, 0)[index])
                token = torch.tensor([self.offsets[i] + index])
        return float(torch.exp(torch.tensor(total)))


@dataclass
class Reinforce:
    """The REINFORCE update of a controller, with a moving-average baseline."""

    controller: Controller
    lr: float = 3.5e-4
    baseline_decay: float = 0.99
    entropy_weight: float = 1e-4
    clip: float = 5.0
    baseline: float | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.baseline_decay < 1:
            raise ValueError(f"the baseline decay is in [0, 1), got {self.baseline_decay}")
        self.optimizer = torch.optim.Adam(self.controller.parameters(), lr=self.lr)

    def update(self, samples: Sequence[tuple[torch.Tensor, torch.Tensor, float]]) -> dict:
        """One step from (log-probability, entropy, reward) samples; returns the numbers."""
        rewards = [r for _, _, r in samples]
        mean = sum(rewards) / len(rewards)
        if self.baseline is None:
            self.baseline = mean
        loss = torch.zeros(())
        for log_prob, entropy, reward in samples:
            advantage = reward - self.baseline
            loss = loss - advantage * log_prob - self.entropy_weight * entropy
        loss = loss / len(samples)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(self.controller.parameters(), self.clip)
        self.optimizer.step()
        old = self.baseline
        self.baseline = self.baseline_decay * self.baseline + (1 - self.baseline_decay) * mean
        entropy = float(sum(float(e.detach()) for _, e, _ in samples) / len(samples))
        return {"reward": mean, "baseline": old, "entropy": entropy}
