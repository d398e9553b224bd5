"""Expressions -> layout documents, and the small pretty-printer that renders them.

The formatter needs two things an f-string cannot give: parentheses exactly
where the grammar's precedence demands them (so `parse(fmt(x))` is the same
tree and no redundant parens survive), and line breaking that only happens
when a line would exceed the width. Breaking uses a Wadler/Prettier-style
document: a `Group` is printed flat if it fits, otherwise its `Line`s become
newlines; outer groups break before inner ones.
"""

from __future__ import annotations

from typing import NamedTuple, Union

from archc.dsl import ast

WIDTH = 100
INDENT = 4

# ------------------------------------------------------------------ documents


class Line(NamedTuple):
    """A possible break: `flat` when the enclosing group fits, else newline + indent."""

    flat: str


class IfBreak(NamedTuple):
    """Text that depends on the group's mode (the trailing comma of a broken list)."""

    broken: str
    flat: str = ""


class Nest(NamedTuple):
    """Indent the lines broken inside `doc` by INDENT more columns."""

    doc: Doc


class Group(NamedTuple):
    doc: Doc


Doc = Union[str, list, Line, IfBreak, Nest, Group]
LINE, SOFT = Line(" "), Line("")
_FLAT, _BREAK = 0, 1


def render(doc: Doc, column: int = 0, width: int = WIDTH) -> str:
    """Lay `doc` out starting at `column`; broken lines get absolute indentation."""
    out: list[str] = []
    stack = [(column, _BREAK, doc)]
    col = column
    while stack:
        ind, mode, d = stack.pop()
        if isinstance(d, str):
            out.append(d)
            col += len(d)
        elif isinstance(d, list):
            stack.extend((ind, mode, x) for x in reversed(d))
        elif isinstance(d, Nest):
            stack.append((ind + INDENT, mode, d.doc))
        elif isinstance(d, Group):
            flat = mode == _FLAT or _fits(width - col, [(ind, _FLAT, d.doc)], stack)
            stack.append((ind, _FLAT if flat else _BREAK, d.doc))
        else:
            text = _mode_text(d, mode, ind)
            out.append(text)
            col = ind if text.startswith("\n") else col + len(text)
    return "".join(out)


def _mode_text(d: Line | IfBreak, mode: int, ind: int) -> str:
    if isinstance(d, IfBreak):
        return d.broken if mode == _BREAK else d.flat
    return d.flat if mode == _FLAT else "\n" + " " * ind


def _fits(room: int, todo: list, rest: list) -> bool:
    """Does everything up to the next possible break in `rest` fit in `room` columns?"""
    rest_at = len(rest)
    while room >= 0:
        if not todo:
            if rest_at == 0:
                return True
            rest_at -= 1
            todo = [rest[rest_at]]
        ind, mode, d = todo.pop()
        if isinstance(d, str):
            room -= len(d)
        elif isinstance(d, list):
            todo.extend((ind, mode, x) for x in reversed(d))
        elif isinstance(d, (Nest, Group)):
            todo.append((ind, mode, d.doc))
        elif isinstance(d, Line) and mode == _BREAK:
            return True
        else:
            room -= len(_mode_text(d, mode, ind))
    return False


def join(docs: list[Doc], sep: Doc) -> list[Doc]:
    out: list[Doc] = []
    for i, d in enumerate(docs):
        out += [sep, d] if i else [d]
    return out


def bracketed(open_: str, items: list[Doc], close: str) -> Doc:
    """`(a, b)` flat, or one item per line with a trailing comma when broken."""
    if not items:
        return open_ + close
    return Group([open_, Nest([SOFT, join(items, [",", LINE]), IfBreak(",")]), SOFT, close])


# ----------------------------------------------------------------- precedence

PIPE, IF, OR, AND, NOT, CMP, RANGE, ARITH, TERM, FACTOR, POWER, POSTFIX, ATOM = range(1, 14)
_COMPARE = {"==", "!=", "<", "<=", ">", ">=", "in", "not in"}
# op -> (level, minimum level of the left operand, of the right operand)
_BINARY = {"or": (OR, OR, AND), "and": (AND, AND, NOT), "**": (POWER, POSTFIX, FACTOR)}
_BINARY |= {op: (CMP, RANGE, RANGE) for op in _COMPARE}
_BINARY |= {op: (ARITH, ARITH, TERM) for op in ("+", "-")}
_BINARY |= {op: (TERM, TERM, FACTOR) for op in ("*", "/", "//", "%")}
_POSTFIX_KINDS = (ast.Call, ast.Index, ast.Slice, ast.Attribute)


def level(e: ast.Node) -> int:
    """The grammar rule an expression belongs to (higher binds tighter)."""
    if isinstance(e, ast.Pipe):
        return PIPE
    if isinstance(e, ast.IfExpr):
        return IF
    if isinstance(e, ast.BinOp):
        return _BINARY[e.op][0]
    if isinstance(e, ast.RangeLit):
        return RANGE
    if isinstance(e, ast.UnaryOp):
        return NOT if e.op == "not" else FACTOR
    return POSTFIX if isinstance(e, _POSTFIX_KINDS) else ATOM


def sub(e: ast.Node, minimum: int) -> Doc:
    """`e` as an operand that must parse at `minimum` or tighter: parenthesised if not."""
    doc = expr(e)
    return ["(", doc, ")"] if level(e) < minimum else doc


# ---------------------------------------------------------------- expressions


def expr(e: ast.Node) -> Doc:
    """The document of any expression, with minimal parentheses inside it."""
    return _PRINTERS[type(e)](e)


def quote(s: str) -> str:
    """A double-quoted literal that STRING accepts and `ast.literal_eval` reads back.

    Non-printable characters (including every one `str.splitlines` treats as
    a line break, which would shift the parser's comment line numbers) are
    escaped as \\uXXXX / \\UXXXXXXXX.
    """
    out = []
    for ch in s:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ch.isprintable():
            out.append(ch)
        else:
            out.append(f"\\u{ord(ch):04x}" if ord(ch) < 0x10000 else f"\\U{ord(ch):08x}")
    return '"' + "".join(out) + '"'


_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def label(lab: ast.Label | None) -> Doc:
    """The ` as name[i]` suffix of a call, `choice`, `oneof` or `repeat`."""
    return "" if lab is None else [" as ", label_ref(lab)]


def label_ref(lab: ast.Label) -> Doc:
    """`name` or `name[i, j]` (the grammar allows no trailing comma, so never broken)."""
    if not lab.indices:
        return lab.name
    return [lab.name, "[", join([expr(i) for i in lab.indices], ", "), "]"]


def _keywords(kws: tuple[ast.Keyword, ...]) -> list[Doc]:
    return [[k.name, "=", expr(k.value)] for k in kws]


def _call(e: ast.Call) -> Doc:
    args = [expr(a) for a in e.args] + _keywords(e.keywords)
    return [sub(e.func, POSTFIX), bracketed("(", args, ")"), label(e.label)]


def _ends_in_bare_label(e: ast.Node) -> bool:
    """`f() as lab` followed by `[i]` would read as the label `lab[i]`."""
    lab = getattr(e, "label", None)
    return (
        isinstance(e, (ast.Call, ast.ChoiceExpr, ast.OneOf)) and lab is not None and not lab.indices
    )


def _index(e: ast.Index) -> Doc:
    value = sub(e.value, POSTFIX)
    if _ends_in_bare_label(e.value):
        value = ["(", value, ")"]
    return [value, "[", expr(e.index), "]"]


def _slice(e: ast.Slice) -> Doc:
    value = sub(e.value, POSTFIX)
    if _ends_in_bare_label(e.value):
        value = ["(", value, ")"]
    parts = ["" if b is None else expr(b) for b in (e.start, e.stop)]
    step = [] if e.step is None else [":", expr(e.step)]
    return [value, "[", parts[0], ":", parts[1], step, "]"]


def _binop(e: ast.BinOp) -> Doc:
    _, left, right = _BINARY[e.op]
    return [sub(e.left, left), f" {e.op} ", sub(e.right, right)]


def _unary(e: ast.UnaryOp) -> Doc:
    operand = sub(e.operand, NOT if e.op == "not" else FACTOR)
    if e.op == "not":
        return ["not ", operand]
    # `- -x` rather than `--x`, which reads like a decrement
    nested = isinstance(e.operand, ast.UnaryOp) and e.operand.op == "-"
    return ["- " if nested else "-", operand]


def _range(e: ast.RangeLit) -> Doc:
    step = [] if e.step is None else [" step ", sub(e.step, ARITH)]
    return [sub(e.start, ARITH), "..", sub(e.stop, ARITH), step]


def _if(e: ast.IfExpr) -> Doc:
    """`a if c else b if d else e` as one group breaking before each `else`."""
    arms = [[sub(e.body, OR), " if ", sub(e.test, OR)]]
    while isinstance(e.orelse, ast.IfExpr):  # the else arm binds as tightly as a whole `if`
        e = e.orelse
        arms.append([LINE, "else ", sub(e.body, OR), " if ", sub(e.test, OR)])
    return Group([arms[0], Nest([arms[1:], LINE, "else ", sub(e.orelse, IF)])])


def _pipe(e: ast.Pipe) -> Doc:
    """A left-nested chain `a -> b -> c` as one group breaking before each `->`."""
    pipe = e
    stages = []
    while isinstance(e, ast.Pipe):
        stages.append(sub(e.stage, POSTFIX))
        e = e.source
    source = sub(e, OR)  # `(a if c else b) -> f`: parenthesised
    if len(stages) == 1 and isinstance(e, ast.Name) and isinstance(pipe.stage, ast.Repeat):
        return [source, " -> ", stages[0]]  # `x -> repeat(n) {`: the body breaks instead
    chain = [[LINE, "-> ", s] for s in reversed(stages)]
    return Group([source, Nest(chain)])


def _list(e: ast.ListLit) -> Doc:
    """A list of plain values that does not fit is filled, several per line; any other
    list gets one item per line, so a list of rows is laid out as a table."""
    if len(e.items) > 1 and all(_plain(i) for i in e.items):
        return filled("[", [expr(i) for i in e.items], "]")
    return bracketed("[", [expr(i) for i in e.items], "]")


def filled(open_: str, items: list[Doc], close: str) -> Doc:
    """`[a, b, c]` flat, or as many items per line as fit: each separator is a group of
    its own, which breaks only when the next item would not fit."""
    body = [items[0]] + [[Group([",", LINE]), i] for i in items[1:]]
    return Group([open_, Nest([SOFT, body, IfBreak(",")]), SOFT, close])


def _plain(e: ast.Node) -> bool:
    """A number, string, bool, `none` or name, possibly negated: a table's cell."""
    if isinstance(e, ast.UnaryOp) and e.op == "-":
        return _plain(e.operand)
    return isinstance(e, (ast.Number, ast.String, ast.Bool, ast.NoneLit, ast.Name))


def _comprehension(e: ast.Comprehension) -> Doc:
    clauses = [[LINE, _clause(c)] for c in e.clauses]
    return Group(["[", Nest([SOFT, expr(e.element), clauses]), SOFT, "]"])


def _clause(c: ast.CompFor | ast.CompIf) -> Doc:
    if isinstance(c, ast.CompIf):
        return ["if ", sub(c.test, OR)]
    return ["for ", ", ".join(c.targets), " in ", sub(c.iter, OR)]


def _choice(e: ast.ChoiceExpr) -> Doc:
    args = [expr(o) for o in e.options] + _keywords(e.keywords)
    return ["choice", bracketed("(", args, ")"), label(e.label)]


def _oneof(e: ast.OneOf) -> Doc:
    cands = [
        [c.name, ": ", sub(c.stage, POSTFIX)] if c.name else sub(c.stage, POSTFIX)
        for c in e.candidates
    ]
    return ["oneof", bracketed("(", cands + _keywords(e.keywords), ")"), label(e.label)]


def _repeat(e: ast.Repeat) -> Doc:
    """`repeat(n) as lab { i => a() -> b() }`; broken, the chain goes on its own line."""
    first, *rest = [sub(s, POSTFIX) for s in e.stages]
    chain = Group([first, Nest([[LINE, "-> ", s] for s in rest])])
    var = f"{e.index_var} => " if e.index_var else ""
    body = Group([" {", Nest([LINE, var, chain]), LINE, "}"])
    return ["repeat(", expr(e.count), ")", label(e.label), body]


_PRINTERS = {
    ast.Number: lambda e: e.text,
    ast.String: lambda e: quote(e.value),
    ast.Bool: lambda e: "true" if e.value else "false",
    ast.NoneLit: lambda e: "none",
    ast.Name: lambda e: e.id,
    ast.Attribute: lambda e: [sub(e.value, POSTFIX), ".", e.attr],
    ast.Index: _index,
    ast.Slice: _slice,
    ast.Call: _call,
    ast.ListLit: _list,
    ast.Comprehension: _comprehension,
    ast.RangeLit: _range,
    ast.BinOp: _binop,
    ast.UnaryOp: _unary,
    ast.IfExpr: _if,
    ast.Pipe: _pipe,
    ast.ChoiceExpr: _choice,
    ast.OneOf: _oneof,
    ast.Repeat: _repeat,
}
