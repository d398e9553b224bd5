"""The words of a graphviz picture: DOT quoting, values, shapes and node labels.

Kept apart from the layout (`graphviz.py`) so that what a node *says* can be read
and tested on its own. Values that depend on choices are written as the choice
expression (`out=s2.w * 4`, `k=s2.k`), so the picture of a space shows where each
decision acts; concrete values are written the way papers draw them (`conv 3x3 /2`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from archc.compiler.ir import IRNode
from archc.kernel.symbolic import Sym, deps_of

MAX_VALUE = 48  # longer expressions are cut in labels (the tooltip keeps them whole)
_SUFFIX = re.compile(r"_\d+$")
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "", "&": "&amp;", "<": "&lt;", ">": "&gt;"}


def quote(text: str) -> str:
    """A DOT string literal whose rendered text is exactly `text`.

    Backslashes and quotes are escaped for the DOT parser; `&`, `<` and `>` become
    entities, which graphviz decodes in labels and tooltips, so a name can never
    start an escape sequence (`\\N`), end the string or open an HTML label.
    """
    return '"' + "".join(_ESCAPES.get(c, c) for c in text) + '"'


def attr_list(attrs: Mapping[str, Any]) -> str:
    """`[k="v", ...]` in the given order, skipping None values."""
    parts = [f"{k}={quote(str(v))}" for k, v in attrs.items() if v is not None]
    return f"[{', '.join(parts)}]" if parts else ""


def strip_parens(text: str) -> str:
    """`(a * b)` -> `a * b`, but `(a) * (b)` stays: only one matching outer pair goes."""
    if not (text.startswith("(") and text.endswith(")")):
        return text
    depth = 0
    for i, c in enumerate(text):
        depth += {"(": 1, ")": -1}.get(c, 0)
        if depth == 0 and i < len(text) - 1:
            return text
    return text[1:-1]


def value(v: Any, limit: int | None = MAX_VALUE) -> str:
    """A value as the language writes it: choice expressions, true/false, tuples."""
    if isinstance(v, Sym):
        text = strip_parens(str(v))
    elif isinstance(v, bool):
        text = "true" if v else "false"
    elif isinstance(v, float):
        text = f"{v:g}"
    elif isinstance(v, tuple):
        text = "(" + ", ".join(value(x, None) for x in v) + ")"
    else:
        text = str(v)
    if limit is not None and len(text) > limit:
        return text[: limit - 1] + "…"
    return text


def shape(dims: Iterable[Any], limit: int | None = MAX_VALUE) -> str:
    return "×".join(value(d, limit) for d in dims)


def edge_shape(node: IRNode) -> str:
    """The producer's max shape; `≤` marks a shape that depends on choices."""
    exact = all(isinstance(d, int) for d in node.shape)
    return ("" if exact else "≤") + shape(node.max_shape)


def node_choices(node: IRNode, with_guard: bool = False) -> frozenset[str]:
    """The choices a node uses: its attributes (and the choice a choose node realises)."""
    used = set()
    for v in node.attrs.values():
        used |= deps_of(v)
    if node.kind == "choose":
        used.add(str(node.attrs["choice"]))
    if with_guard:
        used |= deps_of(node.guard)
    return frozenset(used)


def leaf(name: str) -> str:
    """The last dotted segment of a hierarchical name (brackets are not split)."""
    segments = split_name(name)
    return segments[-1] if segments else name


def split_name(name: str) -> list[str]:
    """`s2.blocks[0].mbconv` -> [`s2`, `blocks[0]`, `mbconv`]; dots inside brackets stay."""
    out, current, depth = [], [], 0
    for c in name:
        if c in "[(":
            depth += 1
        elif c in "])":
            depth = max(depth - 1, 0)
        if c == "." and depth == 0:
            out.append("".join(current))
            current = []
        else:
            current.append(c)
    out.append("".join(current))
    return [s for s in out if s]


# ---- op labels


def _keyed(key: str, v: Any) -> str:
    return f"{key}={value(v)}"


def _kernel(v: Any) -> str:
    return f"{v}x{v}" if isinstance(v, int) else _keyed("k", v)


def _conv(node: IRNode) -> list[str]:
    a = node.attrs
    parts = [node.op, _kernel(a["k"])]
    stride, groups, out = a.get("stride", 1), a.get("groups", 1), a["out"]
    if stride != 1:
        mark = "↑" if node.op == "deconv" else "/"
        parts.append(f"{mark}{stride}" if isinstance(stride, int) else _keyed("stride", stride))
    if a.get("dilation", 1) != 1:
        parts.append(_keyed("d", a["dilation"]))
    if groups != 1:
        parts.append("dw" if groups == out else _keyed("g", groups))
    parts.append(f"→ {out}" if isinstance(out, int) else _keyed("out", out))
    return parts


def _pool(node: IRNode) -> list[str]:
    a = node.attrs
    parts = [node.op, _kernel(a["k"])]
    if a.get("stride", 1) != 1:
        s = a["stride"]
        parts.append(f"/{s}" if isinstance(s, int) else _keyed("stride", s))
    return parts


def _generic(node: IRNode) -> list[str]:
    a = node.attrs
    if node.op == "activation":
        return [f"activation {value(a.get('fn', ''))}"]
    if node.op == "bn":
        return ["bn" if a.get("affine", True) is True else f"bn affine={value(a['affine'])}"]
    if node.op == "upsample":
        return ["upsample", f"×{value(a.get('factor'))}", value(a.get("mode", ""))]
    return [str(node.op), *(_keyed(k, v) for k, v in a.items())]


_OPS = {"conv": _conv, "deconv": _conv, "avgpool": _pool, "maxpool": _pool}


def op_text(node: IRNode) -> str:
    """`conv 3x3 /2 g=8 → 24`, `conv k=s2.k out=s2.w * 4`, `maxpool 3x3 /2`, ..."""
    try:
        parts = _OPS.get(str(node.op), _generic)(node)
    except KeyError:  # an op without the attributes its formatter expects
        parts = _generic(node)
    return " ".join(p for p in parts if p)


def op_label(node: IRNode) -> str:
    """The op text, under the node's own name when that says more than the op."""
    text = op_text(node)
    name = leaf(node.name)
    return text if _SUFFIX.sub("", name) == node.op or not name else f"{name}\n{text}"


def tooltip(node: IRNode) -> str:
    """Everything about a node, unabridged: name, attributes, shapes and guard."""
    lines = [node.name or f"%{node.id}", f"{node.kind} {node.op or ''}".rstrip()]
    lines += [f"{k} = {value(v, None)}" for k, v in node.attrs.items()]
    lines.append(f"shape {shape(node.shape, None)} (max {shape(node.max_shape)})")
    if node.guard is not True:
        lines.append(f"guard: {value(node.guard, None)}")
    return "\n".join(lines)
