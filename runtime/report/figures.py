"""The report's pictures made on the spot: training curves (matplotlib) and the space
and subnet drawings (graphviz). Each returns bytes or text ready to inline, or a
`Missing` saying why there is no picture, so the page can say it instead of breaking.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CURVES = (  # (metric, label, panel): what a training or supernet run logs per epoch
    ("loss", "training loss (largest)", 0),
    ("loss_smallest", "training loss (smallest)", 0),
    ("loss_random", "training loss (random)", 0),
    ("AP", "validation AP (largest)", 1),
    ("AP_smallest", "validation AP (smallest)", 1),
)


@dataclass(frozen=True)
class Missing:
    """No picture, and the reason a reader is told."""

    reason: str


def training_curves(metrics: list[dict[str, Any]], title: str) -> bytes | Missing:
    """Loss and validation AP against the epoch, as PNG bytes."""
    if not metrics:
        return Missing("no epoch has finished yet (metrics.jsonl is empty or absent)")
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for key, label, panel in CURVES:
        points = [(m["epoch"], m[key]) for m in metrics if m.get(key) is not None]
        if key == "loss" and not any("loss_smallest" in m for m in metrics):
            label = "training loss"
        if key == "AP" and not any("AP_smallest" in m for m in metrics):
            label = "validation AP"
        if points:
            xs, ys = zip(*points, strict=True)
            axes[panel].plot(xs, ys, marker="o", markersize=3, label=label)
    axes[0].set(xlabel="epoch", ylabel="loss", yscale="log", title="training loss")
    axes[1].set(xlabel="epoch", ylabel="AP", ylim=(0, 1), title="validation AP")
    for axis in axes:
        axis.grid(alpha=0.3)
        if axis.get_legend_handles_labels()[0]:
            axis.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    return buffer.getvalue()


def drawing(
    space_file: Path | None,
    defines: list[str],
    config: dict[str, Any] | None = None,
    depth: int | None = 2,
) -> str | Missing:
    """The space (or, with `config`, its derived subnet) drawn by graphviz, as SVG text."""
    if space_file is None:
        return Missing("the run folder does not record its .arch file")
    if not space_file.is_file():
        return Missing(f"{space_file} is no longer there")
    from archc.api import compile_file
    from archc.compiler.backends.graphviz import RenderError, svg_text, to_dot
    from archc.compiler.space.config import Config, ConfigError
    from archc.compiler.space.space import Space

    compiled = compile_file(space_file, defines=defines)
    if not compiled.ok or len(compiled.graphs) != 1:
        return Missing(f"{space_file} no longer compiles (run `archc check` on it)")
    space = Space(compiled.graphs[0])
    graph = space.graph
    if config is not None:
        try:
            graph = space.derive(space.validate(Config(config))).graph
        except ConfigError as err:
            return Missing(f"the best config no longer fits {space_file}: {err}")
    try:
        return svg_text(to_dot(graph, depth=depth))
    except RenderError as err:
        return Missing(str(err))
