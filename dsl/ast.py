"""The AST: frozen pydantic models, one class per grammar rule, a span on each.

Nodes are immutable (`frozen=True`) and strict (`extra="forbid"`), so a pass
can never mutate a shared subtree and a typo in a field name fails loudly.
`same_tree(a, b)` compares two trees ignoring spans (used by the formatter's
round-trip guarantee).
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field

from archc.kernel.span import Span


class Node(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    span: Span


# ---------------------------------------------------------------- expressions


class Number(Node):
    kind: Literal["number"] = "number"
    value: int | float
    unit: str | None = None  # "ms", "us" or "s" for durations; K/M/G are folded in
    text: str  # as written, so the formatter keeps `700M` as `700M`


class String(Node):
    kind: Literal["string"] = "string"
    value: str


class Bool(Node):
    kind: Literal["bool"] = "bool"
    value: bool


class NoneLit(Node):
    kind: Literal["none"] = "none"


class Name(Node):
    kind: Literal["name"] = "name"
    id: str


class Label(Node):
    """`name` or `name[i, j]`: a segment of a hierarchical name."""

    kind: Literal["label"] = "label"
    name: str
    indices: tuple[Expr, ...] = ()


class Attribute(Node):
    kind: Literal["attribute"] = "attribute"
    value: Expr
    attr: str


class Index(Node):
    kind: Literal["index"] = "index"
    value: Expr
    index: Expr


class Slice(Node):
    """`xs[a:b]`, `xs[:n]`, `xs[::2]`, `xs[-2:]`: Python's slicing of a list."""

    kind: Literal["slice"] = "slice"
    value: Expr
    start: Expr | None = None
    stop: Expr | None = None
    step: Expr | None = None


class Keyword(Node):
    kind: Literal["keyword"] = "keyword"
    name: str
    value: Expr


class Call(Node):
    kind: Literal["call"] = "call"
    func: Expr
    args: tuple[Expr, ...] = ()
    keywords: tuple[Keyword, ...] = ()
    label: Label | None = None


class ListLit(Node):
    kind: Literal["list"] = "list"
    items: tuple[Expr, ...] = ()


class CompFor(Node):
    kind: Literal["comp_for"] = "comp_for"
    targets: tuple[str, ...]
    iter: Expr


class CompIf(Node):
    kind: Literal["comp_if"] = "comp_if"
    test: Expr


class Comprehension(Node):
    kind: Literal["comprehension"] = "comprehension"
    element: Expr
    clauses: tuple[Annotated[Union[CompFor, CompIf], Field(discriminator="kind")], ...]


class RangeLit(Node):
    """`a..b` or `a..b step s`: inclusive at both ends, like the papers' [min, max]."""

    kind: Literal["range"] = "range"
    start: Expr
    stop: Expr
    step: Expr | None = None


class BinOp(Node):
    """Arithmetic (`+ - * / // % **`), comparison, `and`/`or`, `in`/`not in`."""

    kind: Literal["binop"] = "binop"
    op: str
    left: Expr
    right: Expr


class UnaryOp(Node):
    kind: Literal["unary"] = "unary"
    op: Literal["-", "not"]
    operand: Expr


class IfExpr(Node):
    kind: Literal["if"] = "if"
    body: Expr
    test: Expr
    orelse: Expr


class Pipe(Node):
    """`source -> stage`: the stage is applied with `source` as first argument."""

    kind: Literal["pipe"] = "pipe"
    source: Expr
    stage: Expr


class ChoiceExpr(Node):
    kind: Literal["choice"] = "choice"
    options: tuple[Expr, ...]
    keywords: tuple[Keyword, ...] = ()
    label: Label | None = None


class Candidate(Node):
    """One candidate of a `oneof`: a stage template, optionally labelled."""

    kind: Literal["candidate"] = "candidate"
    name: str | None = None
    stage: Expr


class OneOf(Node):
    kind: Literal["oneof"] = "oneof"
    candidates: tuple[Candidate, ...]
    keywords: tuple[Keyword, ...] = ()
    label: Label | None = None


class Repeat(Node):
    """`repeat(n) { i => stage -> stage }`: the chain applied n times in sequence."""

    kind: Literal["repeat"] = "repeat"
    count: Expr
    index_var: str | None = None
    stages: tuple[Expr, ...]
    label: Label | None = None


Expr = Annotated[
    Union[
        Number,
        String,
        Bool,
        NoneLit,
        Name,
        Attribute,
        Index,
        Slice,
        Call,
        ListLit,
        Comprehension,
        RangeLit,
        BinOp,
        UnaryOp,
        IfExpr,
        Pipe,
        ChoiceExpr,
        OneOf,
        Repeat,
    ],
    Field(discriminator="kind"),
]


# ----------------------------------------------------------------- statements


class Let(Node):
    """`let x = e`, `let h[t] = e` (one member of the family `h`), or `let a, b = e`."""

    kind: Literal["let"] = "let"
    name: str
    value: Expr
    index: tuple[Expr, ...] = ()  # `h[t]`: binds member t of the family `h`
    unpack: tuple[str, ...] = ()  # `let a, b = e`: every name, `name` being the first


class Return(Node):
    kind: Literal["return"] = "return"
    value: Expr


class Assert(Node):
    kind: Literal["assert"] = "assert"
    test: Expr
    message: Expr | None = None


class Scope(Node):
    """A named region: prefixes the names of everything created inside it."""

    kind: Literal["scope"] = "scope"
    label: Label
    shares: Label | None = None  # `shares weights with LABEL`
    body: tuple[Stmt, ...] = ()


class Input(Node):
    kind: Literal["input"] = "input"
    name: str
    shape: Expr
    index: tuple[Expr, ...] = ()  # `input image[t]`: the input `image[1]`, ...


class Output(Node):
    kind: Literal["output"] = "output"
    name: str
    value: Expr
    index: tuple[Expr, ...] = ()


class For(Node):
    """`for t in 1..T { ... }`: the statements once per item of a list known at compile
    time. Bindings made inside stay visible after it, as in a `scope`."""

    kind: Literal["for"] = "for"
    targets: tuple[str, ...]
    iter: Expr
    body: tuple[Stmt, ...] = ()


class Metric(Node):
    kind: Literal["metric"] = "metric"
    name: str
    arg: str | None = None  # latency(cpu)
    scope: Label | None = None  # macs in frame[1]


class Constraint(Node):
    kind: Literal["constraint"] = "constraint"
    metric: Metric
    op: str
    bound: Expr


Stmt = Annotated[
    Union[Let, Return, Assert, Scope, Input, Output, Constraint, For], Field(discriminator="kind")
]


# --------------------------------------------------------------- declarations


class TypeRef(Node):
    """`int`, `list[tensor]`, or a bounded `int >= 1` (the values an op argument accepts)."""

    kind: Literal["type"] = "type"
    name: str
    args: tuple[TypeRef, ...] = ()
    minimum: int | None = None

    def __str__(self) -> str:
        inner = ", ".join(str(a) for a in self.args)
        text = f"{self.name}[{inner}]" if self.args else self.name
        return text if self.minimum is None else f"{text} >= {self.minimum}"

    def unbounded(self) -> str:
        """The type without its bounds (`list[int]` for `list[int >= 0]`): what a value
        of the wrong kind is told it must be."""
        inner = ", ".join(a.unbounded() for a in self.args)
        return f"{self.name}[{inner}]" if self.args else self.name


class Param(Node):
    kind: Literal["param"] = "param"
    name: str
    type: TypeRef
    default: Expr | None = None


class Import(Node):
    kind: Literal["import"] = "import"
    module: str
    is_path: bool  # "rel/path.arch" rather than a stdlib name like std.mobile
    alias: str | None = None


class ConstDecl(Node):
    kind: Literal["const"] = "const"
    name: str
    value: Expr


class OpDecl(Node):
    """A primitive op: signature and doc only; the compiler supplies its rules."""

    kind: Literal["op"] = "op"
    name: str
    params: tuple[Param, ...] = ()
    returns: TypeRef
    doc: str


class BlockDecl(Node):
    kind: Literal["block"] = "block"
    name: str
    params: tuple[Param, ...] = ()
    returns: TypeRef | None = None
    doc: str | None = None
    body: tuple[Stmt, ...] = ()


class SpaceDecl(Node):
    """`space` (may hold choices) or `net` (a fixed network: no choices allowed)."""

    kind: Literal["space"] = "space"
    is_net: bool
    name: str
    doc: str | None = None
    body: tuple[Stmt, ...] = ()


Item = Annotated[
    Union[Import, ConstDecl, OpDecl, BlockDecl, SpaceDecl], Field(discriminator="kind")
]


class Comment(Node):
    kind: Literal["comment"] = "comment"
    text: str


class Module(Node):
    kind: Literal["module"] = "module"
    path: str
    items: tuple[Item, ...] = ()
    comments: tuple[Comment, ...] = ()


def same_tree(a: Node, b: Node) -> bool:
    """Structural equality ignoring spans, number spelling and comments."""
    return _strip(a.model_dump()) == _strip(b.model_dump())


def _strip(value: object) -> object:
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in ("span", "text", "comments")}
    if isinstance(value, (list, tuple)):
        return [_strip(v) for v in value]
    return value
