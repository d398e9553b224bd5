"""Which units of a model run in int8: measured alone, then by class on the whole model.

A unit timed alone (`int8.unit_timings`) pays a quantize at its input and a
dequantize at its output; inside an int8 region it pays neither, while at every
border between int8 and float32 the whole model pays one of them. So the
per-unit decision is only the start: the units are grouped into classes (the
same ops and kernel, e.g. "conv+bn 7x7 depthwise"), and, heaviest class first,
each class is tried all in int8 and all in float32 on the whole model; a change
is kept when the model gets faster by more than the noise margin. The trials
start from the fastest of three models: the per-unit decisions, everything in int8
(a unit amid int8 neighbours pays no conversions at all), nothing in int8. The latency
does not depend on the activation ranges, so the trials calibrate on two seeded
random batches; the final model is calibrated on the real crops.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from archc.compiler.backends.onnx.quantize import fp32_node_names, quantize, random_batches
from archc.compiler.backends.onnx.runner import Timing, ort_latency

MARGIN = 0.97  # a trial must beat the best so far by 3 %: single-thread timings wobble
LIGHT = 0.02  # classes under 2 % of the units' float32 time are not worth a trial


@dataclass(frozen=True)
class Decision:
    int8: bool
    reason: str


def unit_class(spec: list) -> str:
    """The class of a unit spec: its ops, and for a conv its kernel and grouping."""
    ops = "+".join(step[0] for step in spec)
    op, attrs, shapes = spec[0]
    if op not in ("conv", "deconv"):
        return ops
    k, groups, cin = attrs.get("k", 1), attrs.get("groups", 1), shapes[0][0]
    grouping = " depthwise" if groups > 1 and groups == cin else " grouped" if groups > 1 else ""
    return f"{ops} {k}x{k}{grouping}"


def alone(units) -> dict[str, Decision]:
    """The per-unit start: int8 where the unit alone was faster in int8 (never for
    what `quantize.ALWAYS_FP32` keeps for accuracy)."""
    return {
        u.name: Decision(False, ACCURACY)
        if _fixed(u.kind)
        else Decision(
            u.int8_ms < u.fp32_ms,
            f"alone: int8 {u.int8_ms:.3f} ms vs float32 {u.fp32_ms:.3f} ms",
        )
        for u in units
    }


def everything(units) -> dict[str, Decision]:
    """The other start: every unit in int8 (but `_fixed` ones), which beats the
    per-unit start when most units sit between other int8 units."""
    return {
        u.name: Decision(False, ACCURACY) if _fixed(u.kind) else Decision(True, "all int8")
        for u in units
    }


def none(units) -> dict[str, Decision]:
    """The third start: nothing in int8, from which the classes are tried one by one
    (a class of heavy convolutions may pay off where the rest does not)."""
    return {u.name: Decision(False, ACCURACY if _fixed(u.kind) else "float32") for u in units}


ACCURACY = "always float32: int8 deconvolution moves heatmap peaks"


def _fixed(kind: str) -> bool:
    return kind.startswith("deconv")  # emitted as ConvTranspose (quantize.ALWAYS_FP32)


def refine(
    fp32: bytes,
    units,
    shapes: dict[str, tuple[int, ...]],
    threads: int,
    runs: int,
    progress: Callable[[Iterable], Iterable] = lambda it: it,
) -> dict[str, Decision]:
    """Decisions per unit name after the class trials."""
    calibration = random_batches(shapes, 2)

    def timed(chosen: dict[str, Decision]) -> Timing:
        names = [n for u in units if not chosen[u.name].int8 for n in u.nodes]
        model = quantize(fp32, calibration, keep_fp32=fp32_node_names(fp32, names))
        return ort_latency(model, shapes, threads, max(5, runs // 3))

    decisions, best = min(
        ((start, timed(start)) for start in (alone(units), everything(units), none(units))),
        key=lambda pair: pair[1].median_ms,
    )
    for cls in progress(_classes_by_weight(units)):
        members = [u for u in units if u.kind == cls]
        for int8 in (True, False):
            if all(decisions[u.name].int8 == int8 for u in members):
                continue
            trial = dict(decisions)
            for u in members:
                trial[u.name] = Decision(int8, "")
            timing = timed(trial)
            if timing.median_ms < best.median_ms * MARGIN:
                word = "int8" if int8 else "float32"
                why = (
                    f"model with every {cls} in {word}: {timing.median_ms:.2f} ms "
                    f"vs {best.median_ms:.2f} ms"
                )
                decisions = {**trial, **{u.name: Decision(int8, why) for u in members}}
                best = timing
    return decisions


def _classes_by_weight(units) -> list[str]:
    """Classes worth a trial, heaviest first (their float32 milliseconds summed)."""
    weight: dict[str, float] = {}
    for u in units:
        weight[u.kind] = weight.get(u.kind, 0.0) + u.fp32_ms
    total = sum(weight.values())
    heavy = [c for c, ms in weight.items() if ms >= LIGHT * total and not _fixed(c)]
    return sorted(heavy, key=weight.__getitem__, reverse=True)
