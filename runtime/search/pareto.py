"""The accuracy-cost picture of a search: the Pareto front, hypervolume, `pareto.png`.

Non-dominated sorting and hypervolume come from pymoo. Objectives are put in
pymoo's minimisation form: (-score, cost). The hypervolume is measured in a
normalised box -- score in [0, 1] (AP is), cost divided by a reference cost
(the budget, or the largest cost seen) -- with the reference point (0 score,
1.1 x reference cost), so numbers of one search are comparable across its
evaluations, which is what the "hypervolume against evaluations" curve shows.
A search by loss scores minus the loss (below 0): its scores are shifted so that
the worst trial's is 0, which keeps the box and the curve meaningful.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from archc.runtime.search.strategies.base import SearchError

INSTALL = "pip install 'archc[search]'"


def _objectives(records: Sequence[dict[str, Any]], cost: str) -> np.ndarray:
    return np.array([[-(r["score"] or 0.0), float(r[cost] or 0.0)] for r in records], dtype=float)


def front(records: Sequence[dict[str, Any]], cost: str = "macs") -> list[dict[str, Any]]:
    """The non-dominated trials (higher score, lower cost), by increasing cost; one trial
    per architecture (repeats dropped)."""
    unique = [r for r in records if r.get("repeat_of") is None and r["score"] is not None]
    if not unique:
        return []
    try:
        from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting
    except ImportError:
        raise SearchError(f"the Pareto front needs pymoo: {INSTALL}") from None
    best = NonDominatedSorting().do(_objectives(unique, cost), only_non_dominated_front=True)
    return sorted((unique[i] for i in best), key=lambda r: (r[cost], -r["score"]))


def hypervolume_curve(
    records: Sequence[dict[str, Any]], cost: str, reference: float | None = None
) -> list[float]:
    """The hypervolume of the front after each trial (normalised, see the module)."""
    from pymoo.indicators.hv import HV

    scored = [r for r in records if r["score"] is not None]
    if not scored:
        return []
    ref_cost = reference or max(float(r[cost] or 0) for r in scored) or 1.0
    indicator = HV(ref_point=np.array([0.0, 1.1]))
    # scores below 0 (minus a loss) are shifted so that the worst is 0: AP is unchanged
    floor = min(0.0, min(float(r["score"]) for r in scored))
    points = (_objectives(scored, cost) + np.array([floor, 0.0])) / np.array([1.0, ref_cost])
    curve, seen = [], []
    for point in points:
        seen.append(point)
        inside = np.array([p for p in seen if p[0] < 0 and p[1] < 1.1])
        curve.append(float(indicator(inside)) if len(inside) else 0.0)
    return curve


def plot(
    records: Sequence[dict[str, Any]],
    path: Any,
    cost: str = "macs",
    budget: float | None = None,
    title: str = "",
    objective: str = "AP",
) -> None:
    """`pareto.png` into `path` (a file name or a binary file): every trial, the front,
    the budget line; the hypervolume against evaluations."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scored = [r for r in records if r["score"] is not None]
    best = front(records, cost)
    scale, unit = _unit(cost)
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    left.scatter(
        [r[cost] / scale for r in scored],
        [r["score"] for r in scored],
        s=12,
        alpha=0.5,
        label="trials",
    )
    left.plot(
        [r[cost] / scale for r in best],
        [r["score"] for r in best],
        "o-",
        color="C3",
        label="Pareto front",
    )
    if budget is not None:
        left.axvline(budget / scale, color="k", ls="--", lw=1, label="budget")
    left.set_xlabel(f"{cost} ({unit})" if unit else cost)
    left.set_ylabel(
        "score (validation AP)" if objective == "AP" else "score (minus validation loss)"
    )
    left.legend(loc="lower right")
    left.set_title(title or "accuracy against cost")
    curve = hypervolume_curve(records, cost, budget)
    right.plot(range(1, len(curve) + 1), curve, color="C2")
    right.set_xlabel("evaluations")
    right.set_ylabel("hypervolume (normalised)")
    right.set_title("hypervolume against evaluations")
    fig.tight_layout()
    fig.savefig(path, dpi=110, format="png")
    plt.close(fig)


def _unit(cost: str) -> tuple[float, str]:
    return {"macs": (1e6, "M"), "params": (1e6, "M"), "latency_ms": (1.0, "ms")}.get(
        cost, (1.0, "")
    )
