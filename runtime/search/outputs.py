"""What a finished search leaves besides its trial log: `front.json`, `best.json`,
`pareto.png` and `best/` (the found subnet ready to train further or deploy).

All of it is derived from `trials.jsonl`, the supernet and the data, so it is
rewritten whole at the end of a search (and of a resumed one); every file is
written atomically, so a kill while writing leaves the old file or the new.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from archc.kernel.files import write_atomic
from archc.runtime.search import pareto

FRONT, BEST, PICTURE, BEST_DIR = "front.json", "best.json", "pareto.png", "best"
CONFIG, WEIGHTS, ONNX = "config.json", "weights.safetensors", "model.onnx"


def best_trial(records: Sequence[dict[str, Any]], cost: str = "macs") -> dict[str, Any] | None:
    """The trial with the highest score (every trial is within the limits); ties go to
    the cheaper, then the earlier."""
    scored = [r for r in records if r["score"] is not None]
    if not scored:
        return None
    return min(scored, key=lambda r: (-r["score"], r[cost] or 0, r["index"]))


def write_summaries(
    folder: Path,
    records: Sequence[dict[str, Any]],
    space_name: str,
    cost: str = "macs",
    budget: float | None = None,
    objective: str = "AP",
) -> dict[str, Any] | None:
    """front.json, best.json and pareto.png; returns the best trial."""
    best = best_trial(records, cost)
    front = pareto.front(records, cost)
    doc = {"space": space_name, "cost": cost, "trials": len(records), "front": front}
    write_atomic(folder / FRONT, json.dumps(doc, indent=2) + "\n")
    write_atomic(folder / BEST, json.dumps({"space": space_name, "best": best}, indent=2) + "\n")
    buffer = io.BytesIO()
    title = f"{space_name}: {len(records)} trials"
    pareto.plot(records, buffer, cost, budget, title=title, objective=objective)
    write_atomic(folder / PICTURE, buffer.getvalue())
    return best


def write_best(
    folder: Path, space: Any, supernet: Any, config: Any, calibration, wrap=None
) -> dict:
    """best/: the config, the derived subnet's weights (BN recalibrated), its ONNX file."""
    from archc.compiler.backends.onnx.export import ExportError, export_module
    from archc.runtime.search.evaluate import subnet_after_recalibration
    from archc.runtime.weights import save_weights

    target = folder / BEST_DIR
    target.mkdir(exist_ok=True)
    config = space.validate(config)
    config.save(target / CONFIG)
    module = subnet_after_recalibration(supernet, config, calibration, wrap).cpu()
    save_weights(module, target / WEIGHTS, {"format": "archc-subnet", "space": space.name})
    report: dict[str, Any] = {"config": str(target / CONFIG), "weights": str(target / WEIGHTS)}
    try:
        exported = export_module(space.derive(config), module, target / ONNX)
        report["onnx"] = str(exported.path)
    except ExportError as err:  # the search's results stand; say why there is no ONNX file
        report["onnx_error"] = str(err)
    return report
