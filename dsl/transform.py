"""Lark parse tree -> AST, with explicit keyword construction of every node.

Lark's automatic AST builder passes children positionally, which pydantic
models reject; each method here names its fields. Spans come from lark's
`propagate_positions` metadata.
"""

from __future__ import annotations

import ast as pyast
import math
import warnings

from lark import Token, Transformer, v_args
from lark.tree import Meta

from archc.dsl import ast
from archc.kernel.diagnostics import fail
from archc.kernel.span import Span

RESERVED = frozenset(
    {
        "let",
        "const",
        "block",
        "op",
        "space",
        "net",
        "import",
        "as",
        "return",
        "assert",
        "scope",
        "input",
        "output",
        "constraint",
        "choice",
        "oneof",
        "repeat",
        "if",
        "else",
        "for",
        "in",
        "not",
        "and",
        "or",
        "true",
        "false",
        "none",
    }
)
MAX_DIGITS = 1000  # far beyond any count of MACs; keeps every value printable
_SCALE = {"K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}
_UNITS = ("ms", "us", "s")


def parse_number(text: str) -> tuple[int | float, str | None]:
    """`700M` -> 700000000, `1.5G` -> 1500000000, `30ms` -> (30, "ms")."""
    for unit in _UNITS:
        if text.endswith(unit):
            return _plain(text[: -len(unit)]), unit
    if text[-1] in _SCALE:
        value = _plain(text[:-1]) * _SCALE[text[-1]]
        return (int(value) if float(value).is_integer() else value), None
    return _plain(text), None


def _plain(text: str) -> int | float:
    return int(text) if text.isdigit() else float(text)


@v_args(meta=True)
class ToAst(Transformer):
    """Builds `archc.dsl.ast` nodes; one method per grammar rule or alias."""

    def __init__(self, path: str, text: str = ""):
        super().__init__()
        self.path = path
        self.lines = text.split("\n")
        self.keyword_uses: list[Token] = []  # reported at the end, unless bound first

    def _span(self, meta: Meta) -> Span:
        if getattr(meta, "empty", True):
            return Span.point(self.path, 1, 1)
        return Span.model_construct(
            file=self.path,
            line=meta.line,
            column=meta.column,
            end_line=meta.end_line,
            end_column=meta.end_column,
        )

    def _tok(self, tok: Token) -> Span:
        return Span.model_construct(
            file=self.path,
            line=tok.line,
            column=tok.column,
            end_line=tok.end_line,
            end_column=tok.end_column,
        )

    def _ident(self, tok: Token) -> str:
        """A name being bound or used; keywords are reserved even where lark's contextual
        lexer would let them through (`let none = 3` could never be referred to)."""
        if str(tok) in RESERVED:
            raise fail(
                "E008",
                f"`{tok}` is a keyword and cannot be used as a name",
                self._tok(tok),
                hint=f"choose another name, e.g. `{tok}_`",
            )
        return str(tok)

    # ---- module and declarations
    def start(self, meta, items):
        if self.keyword_uses:  # a keyword read as a name that nothing tried to bind
            self._ident(self.keyword_uses[0])
        return list(items)

    def import_decl(self, meta, c):
        module, alias = c[0], (self._ident(c[1]) if len(c) > 1 else None)
        is_path = isinstance(module, ast.String)
        name = module.value if is_path else module
        return ast.Import.model_construct(
            span=self._span(meta), module=name, is_path=is_path, alias=alias
        )

    def dotted_name(self, meta, c):
        return ".".join(str(t) for t in c)

    def const_decl(self, meta, c):
        return ast.ConstDecl.model_construct(
            span=self._span(meta), name=self._ident(c[0]), value=c[1]
        )

    def op_decl(self, meta, c):
        name, params, returns, doc = c
        return ast.OpDecl.model_construct(
            span=self._span(meta),
            name=self._ident(name),
            params=tuple(params or ()),
            returns=returns,
            doc=doc.value,
        )

    def block_decl(self, meta, c):
        name, params, returns, doc, *body = c
        return ast.BlockDecl.model_construct(
            span=self._span(meta),
            name=self._ident(name),
            params=tuple(params or ()),
            returns=returns,
            doc=doc.value if doc else None,
            body=tuple(body),
        )

    def space_decl(self, meta, c):
        kind, name, doc, *body = c
        return ast.SpaceDecl.model_construct(
            span=self._span(meta),
            is_net=str(kind) == "net",
            name=self._ident(name),
            doc=doc.value if doc else None,
            body=tuple(body),
        )

    def params(self, meta, c):
        return tuple(c)

    def param(self, meta, c):
        return ast.Param.model_construct(
            span=self._span(meta), name=self._ident(c[0]), type=c[1], default=c[2]
        )

    def type_ref(self, meta, c):
        *args, bound = c[1:]
        args = tuple(a for a in args if a is not None)
        return ast.TypeRef.model_construct(
            span=self._span(meta), name=str(c[0]), args=args, minimum=bound
        )

    def type_bound(self, meta, c):
        op, *sign, number = c
        if str(op) != ">=" or "." in str(number) or not str(number).isdigit():
            raise fail(
                "E006",
                "a parameter's bound is written `>= N` with an integer N",
                self._span(meta),
                hint="e.g. `stride: int >= 1`",
            )
        return -int(str(number)) if sign else int(str(number))

    # ---- statements
    def let_stmt(self, meta, c):
        name, *index, value = c
        index = tuple(i for i in index if i is not None)
        return ast.Let.model_construct(
            span=self._span(meta), name=self._ident(name), value=value, index=index
        )

    def let_unpack(self, meta, c):
        *names, value = c
        names = tuple(self._ident(n) for n in names)
        return ast.Let.model_construct(
            span=self._span(meta), name=names[0], value=value, unpack=names
        )

    def for_stmt(self, meta, c):
        body = [x for x in c if isinstance(x, ast.Node)]
        targets = tuple(self._ident(t) for t in c if isinstance(t, Token))
        return ast.For.model_construct(
            span=self._span(meta), targets=targets, iter=body[0], body=tuple(body[1:])
        )

    def return_stmt(self, meta, c):
        return ast.Return.model_construct(span=self._span(meta), value=c[0])

    def assert_stmt(self, meta, c):
        return ast.Assert.model_construct(span=self._span(meta), test=c[0], message=c[1])

    def scope_stmt(self, meta, c):
        return ast.Scope.model_construct(
            span=self._span(meta), label=c[0], shares=c[1], body=tuple(c[2:])
        )

    def input_stmt(self, meta, c):
        name, *index, shape = c
        index = tuple(i for i in index if i is not None)
        return ast.Input.model_construct(
            span=self._span(meta), name=self._ident(name), shape=shape, index=index
        )

    def output_stmt(self, meta, c):
        name, *index, value = c
        index = tuple(i for i in index if i is not None)
        return ast.Output.model_construct(
            span=self._span(meta), name=self._ident(name), value=value, index=index
        )

    def constraint_stmt(self, meta, c):
        return ast.Constraint.model_construct(
            span=self._span(meta), metric=c[0], op=str(c[1]), bound=c[2]
        )

    def metric(self, meta, c):
        return ast.Metric.model_construct(
            span=self._span(meta),
            name=str(c[0]),
            arg=str(c[1]) if c[1] is not None else None,
            scope=c[2],
        )

    def label(self, meta, c):
        return ast.Label.model_construct(
            span=self._span(meta), name=str(c[0]), indices=tuple(x for x in c[1:] if x is not None)
        )

    # ---- expressions
    def pipe_expr(self, meta, c):
        span = self._span(meta)
        source = c[0]
        if isinstance(source, ast.IfExpr) and _starts_together(source.span, span):
            raise self._pipe_after_else(source, c[1], span)
        return ast.Pipe.model_construct(span=span, source=source, stage=c[1])

    def _pipe_after_else(self, cond: ast.IfExpr, stage: ast.Node, span: Span):
        """`a if c else b -> f` would pipe the whole conditional (the grammar's reading)
        although it reads as piping `b` only: refuse it and show both readings."""
        a, c, b, f = (self._text(n.span) for n in (cond.body, cond.test, cond.orelse, stage))
        if max(len(a), len(c), len(b), len(f)) > 40 or "\n" in a + c + b + f:
            a, c, b, f = "a", "cond", "b", "f()"
        return fail(
            "E009",
            "a pipe after the `else` branch of a conditional is ambiguous",
            span,
            hint=f"write `({a} if {c} else {b}) -> {f}` to pipe the result of the "
            f"conditional, or `{a} if {c} else ({b} -> {f})` to pipe the `else` branch only",
        )

    def _text(self, span: Span) -> str:
        """The source text of a one-line span ('\n' when it spans lines)."""
        if span.line != span.end_line or not 0 < span.line <= len(self.lines):
            return "\n"
        return self.lines[span.line - 1][span.column - 1 : span.end_column - 1]

    def if_expr(self, meta, c):
        return ast.IfExpr.model_construct(span=self._span(meta), body=c[0], test=c[1], orelse=c[2])

    def _bin(self, meta, op, left, right):
        return ast.BinOp.model_construct(span=self._span(meta), op=op, left=left, right=right)

    def or_op(self, meta, c):
        return self._bin(meta, "or", c[0], c[1])

    def and_op(self, meta, c):
        return self._bin(meta, "and", c[0], c[1])

    def not_op(self, meta, c):
        return ast.UnaryOp.model_construct(span=self._span(meta), op="not", operand=c[0])

    def compare(self, meta, c):
        return self._bin(meta, str(c[1]), c[0], c[2])

    def in_op(self, meta, c):
        return self._bin(meta, "in", c[0], c[1])

    def not_in_op(self, meta, c):
        return self._bin(meta, "not in", c[0], c[1])

    def binary(self, meta, c):
        return self._bin(meta, str(c[1]), c[0], c[2])

    def pow_op(self, meta, c):
        return self._bin(meta, "**", c[0], c[1])

    def neg(self, meta, c):
        return ast.UnaryOp.model_construct(span=self._span(meta), op="-", operand=c[0])

    def range_lit(self, meta, c):
        return ast.RangeLit.model_construct(span=self._span(meta), start=c[0], stop=c[1], step=c[2])

    def call(self, meta, c):
        func, arglist, label = c
        args, keywords = _split_args(arglist or ())
        return ast.Call.model_construct(
            span=self._span(meta), func=func, args=args, keywords=keywords, label=label
        )

    def index(self, meta, c):
        return ast.Index.model_construct(span=self._span(meta), value=c[0], index=c[1])

    def slice(self, meta, c):
        value, start, stop, step = c
        return ast.Slice.model_construct(
            span=self._span(meta), value=value, start=start, stop=stop, step=step
        )

    def attribute(self, meta, c):
        return ast.Attribute.model_construct(span=self._span(meta), value=c[0], attr=str(c[1]))

    def args(self, meta, c):
        return tuple(c)

    def keyword(self, meta, c):
        return ast.Keyword.model_construct(span=self._span(meta), name=str(c[0]), value=c[1])

    def name(self, meta, c):
        """A use of a name. A keyword here is reported at the end of the file, so that
        `[op for op in xs]` is reported where `op` is bound (transformed after its use)."""
        if str(c[0]) in RESERVED:
            self.keyword_uses.append(c[0])
        return ast.Name.model_construct(span=self._span(meta), id=str(c[0]))

    def true(self, meta, c):
        return ast.Bool.model_construct(span=self._span(meta), value=True)

    def false(self, meta, c):
        return ast.Bool.model_construct(span=self._span(meta), value=False)

    def none(self, meta, c):
        return ast.NoneLit.model_construct(span=self._span(meta))

    def number(self, meta, c):
        text = str(c[0])
        digits = sum(ch.isdigit() for ch in text)
        if digits > MAX_DIGITS:
            raise fail(
                "E006",
                f"this number has {digits} digits; a number has at most {MAX_DIGITS}",
                self._span(meta),
            )
        value, unit = parse_number(text)
        if isinstance(value, float) and not math.isfinite(value):
            raise fail("E006", "this number is too large", self._span(meta))
        return ast.Number.model_construct(span=self._span(meta), value=value, unit=unit, text=text)

    def string(self, meta, c):
        try:
            with warnings.catch_warnings():  # `"\d"`: Python warns, the text stays as written
                warnings.simplefilter("ignore")
                value = pyast.literal_eval(str(c[0]))
        except (SyntaxError, ValueError) as err:  # `"\x"`, a carriage return inside, ...
            reason = err.msg if isinstance(err, SyntaxError) else err
            if "\r" in str(c[0]):
                reason = "it holds a carriage return; a string stays on one line"
            raise fail(
                "E006",
                f"invalid string: {reason}",
                self._span(meta),
                hint='escapes are \\\\, \\", \\n and \\t; a string stays on one line',
            ) from None
        return ast.String.model_construct(span=self._span(meta), value=value)

    def list_lit(self, meta, c):
        return ast.ListLit.model_construct(
            span=self._span(meta), items=tuple(x for x in c if x is not None)
        )

    def comprehension(self, meta, c):
        return ast.Comprehension.model_construct(
            span=self._span(meta), element=c[0], clauses=tuple(c[1:])
        )

    def comp_for(self, meta, c):
        targets = tuple(self._ident(t) for t in c[:-1])
        return ast.CompFor.model_construct(span=self._span(meta), targets=targets, iter=c[-1])

    def comp_if(self, meta, c):
        return ast.CompIf.model_construct(span=self._span(meta), test=c[0])

    def choice_expr(self, meta, c):
        args, keywords = _split_args(c[0])
        return ast.ChoiceExpr.model_construct(
            span=self._span(meta), options=args, keywords=keywords, label=c[1]
        )

    def oneof_expr(self, meta, c):
        *cands, label = c
        keywords = tuple(k for k in cands if isinstance(k, ast.Keyword))
        candidates = tuple(self._candidate(x) for x in cands if not isinstance(x, ast.Keyword))
        return ast.OneOf.model_construct(
            span=self._span(meta), candidates=candidates, keywords=keywords, label=label
        )

    def _candidate(self, x):
        if isinstance(x, ast.Candidate):
            return x
        return ast.Candidate.model_construct(span=x.span, name=None, stage=x)

    def labelled(self, meta, c):
        return ast.Candidate.model_construct(span=self._span(meta), name=str(c[0]), stage=c[1])

    def labelled_none(self, meta, c):
        """`none: zero`: DARTS calls its zero op `none`; as a label it is just a word."""
        return ast.Candidate.model_construct(span=self._span(meta), name="none", stage=c[0])

    def repeat_expr(self, meta, c):
        count, label, index_var, stages = c
        return ast.Repeat.model_construct(
            span=self._span(meta),
            count=count,
            label=label,
            index_var=self._ident(index_var) if index_var is not None else None,
            stages=stages,
        )

    def stage_chain(self, meta, c):
        return tuple(c)


def _starts_together(a: Span, b: Span) -> bool:
    """Whether two spans start at the same place: an operand that starts where its
    parent does was not written in parentheses."""
    return (a.line, a.column) == (b.line, b.column)


def _split_args(items) -> tuple[tuple, tuple]:
    seen_keyword = None
    for item in items:
        if isinstance(item, ast.Keyword):
            seen_keyword = item
        elif seen_keyword is not None:
            raise fail(
                "E103",
                "positional argument after keyword argument",
                item.span,
                hint=f"move it before `{seen_keyword.name}=...` or give it a name",
            )
    args = tuple(a for a in items if not isinstance(a, ast.Keyword))
    keywords = tuple(a for a in items if isinstance(a, ast.Keyword))
    return args, keywords
