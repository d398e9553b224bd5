"""Choices: `choice(...)`, `oneof(...)` and elastic `repeat(n)`.

A choice evaluates to a `ChoiceRef` (or, over tensors, to the output of a
`choose` node) and registers a `ChoiceSpec` under its hierarchical name. A
domain that depends on other choices (`choice(divisors(24 * e))`) is kept
symbolic and checked for emptiness over every value of its parents, so such
dependencies are expressed directly rather than by rejecting samples.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from typing import Any

from archc.dsl import ast
from archc.dsl.calls import CallEvaluator
from archc.dsl.expressions import Env
from archc.dsl.values import (
    POISON,
    OpChoice,
    Poison,
    Template,
    Tensor,
    describe,
    is_callable,
    shown_number,
)
from archc.kernel.diagnostics import fail, suggest
from archc.kernel.specs import REALISATIONS, ChoiceSpec
from archc.kernel.symbolic import ChoiceRef, Sym, apply, evaluate, is_symbolic, type_of

MAX_ENUMERATION = 10_000
MAX_FOLD = 4_096  # configs tried when folding a condition
MAX_REPEAT = 1_000  # iterations of one `repeat`; more is a typo, and would take minutes
_DEFAULT_REALISE = {
    "int": "elastic",
    "float": "elastic",
    "bool": "elastic",
    "str": "sampled",
    "op": "sampled",
    "input": "sampled",
}
_CHOICE_KEYWORDS = ("realise", "default")


class ChoiceEvaluator(CallEvaluator):
    def fold(self, value: Any) -> Any:
        """A condition that has the same value for every config of its choices is that value.

        `e != 1` with `e` in {3, 4, 6} is `true`: folding it here keeps guards,
        selects and never-taken branches out of the graph. Only conditions over
        few choices with fixed candidates are tried; shapes are left to the compiler.
        """
        if not isinstance(value, Sym) or value.type != "bool":
            return value
        outcomes = self.outcomes(value)
        if outcomes is None or len({bool(r) for _, r in outcomes}) != 1:
            return value
        return bool(outcomes[0][1])

    def outcomes(self, value: Sym) -> list[tuple[dict[str, Any], Any]] | None:
        """`value` under every config of the choices it depends on, or None when that
        is not possible here (shapes needed, dependent domains, too many configs)."""
        names = sorted(value.deps())
        specs = [self.ctx.choices.get(n) for n in names]
        if (
            not names
            or any(s is None or s.dependent for s in specs)
            or math.prod(len(s.domain) for s in specs) > MAX_FOLD
        ):
            return None
        results = []
        for combo in itertools.product(*(s.domain for s in specs)):
            config = dict(zip(names, combo, strict=True))
            try:
                results.append((config, evaluate(value, config)))
            except Exception:  # needs shapes, or fails for some config: leave it
                return None
        return results

    # ---- choice(...)
    def _eval_choice(self, e: ast.ChoiceExpr, env: Env, hint: str | None = None) -> Any:
        options = tuple(self.eval(o, env) for o in e.options)
        if any(isinstance(o, Poison) for o in options):
            return POISON
        if len(options) == 1 and (isinstance(options[0], tuple) or is_symbolic(options[0])):
            options = options[0]
        if isinstance(options, tuple) and any(isinstance(o, Tensor) for o in options):
            return self._input_choice(e, options, env, hint)
        kind = self._domain_kind(e, options)
        name = self._choice_name(e, env, hint, "choice")
        realise, default = self._choice_options(e, env, kind, options)
        spec = ChoiceSpec(
            name=name, kind=kind, domain=options, realise=realise, default=default, span=e.span
        )
        self.ctx.add_choice(spec)
        return ChoiceRef(name=name, type=kind)

    def _domain_kind(self, e: ast.ChoiceExpr, options: Any) -> str:
        if isinstance(options, Sym):
            return self._sampled_kind(e, options)
        if any(is_callable(o) for o in options):
            raise fail(
                "E240",
                "a choice between ops is written `oneof(...)`",
                e.span,
                hint="e.g. `x -> oneof(conv(16, k=3), conv(16, k=5), skip)`",
            )
        if len(options) < 2 and not is_symbolic(options):
            raise fail(
                "E241",
                "a choice needs at least two candidates",
                e.span,
                hint="write the value itself when there is nothing to choose",
            )
        kinds = {type_of(o) for o in options}
        if kinds <= {"int", "float"} and kinds:
            kind = "float" if "float" in kinds else "int"
        elif len(kinds) == 1 and kinds <= {"bool", "str"}:
            kind = kinds.pop()
        else:
            raise fail(
                "E242",
                "choice candidates must all be numbers, all bools or all "
                f"strings; got {', '.join(describe(o) for o in options)}",
                e.span,
            )
        concrete = [o for o in options if not is_symbolic(o)]
        duplicates = sorted({repr(o) for o, n in Counter(concrete).items() if n > 1})
        if duplicates:
            raise fail("E243", f"choice lists {', '.join(duplicates)} more than once", e.span)
        return kind

    def _sampled_kind(self, e: ast.ChoiceExpr, domain: Sym) -> str:
        """Kind of a dependent domain, from its values under every parent config."""
        values = [v for _, dom in self._domains_over_parents(domain, e) for v in dom]
        kinds = {type_of(v) for v in values}
        if not kinds <= {"int", "float"} and not (len(kinds) == 1 and kinds <= {"bool", "str"}):
            shown = ", ".join(describe(v) for v in values[:4])
            raise fail(
                "E242",
                "choice candidates must all be numbers, all bools or all "
                f"strings; this domain gives {shown}",
                e.span,
            )
        return "float" if kinds == {"int", "float"} else kinds.pop() if len(kinds) == 1 else "int"

    def _domains_over_parents(self, domain: Any, e: ast.Node):
        """Yield (parent config, concrete domain) for every config of the parents."""
        parents = sorted(_deps(domain))
        spaces = [self._concrete_domain(p, e) for p in parents]
        for combo in itertools.islice(itertools.product(*spaces), MAX_ENUMERATION):
            config = dict(zip(parents, combo, strict=False))
            try:
                values = evaluate(domain, config)
            except Exception as err:  # a user expression failing for some parent value
                raise fail(
                    "E244",
                    f"this domain cannot be computed when {_describe_config(config)}: {err}",
                    e.span,
                ) from None
            values = tuple(values) if isinstance(values, (tuple, list)) else (values,)
            if not values:
                raise fail(
                    "E244", f"this choice has no candidates when {_describe_config(config)}", e.span
                )
            yield config, values

    def _concrete_domain(self, name: str, e: ast.Node) -> tuple:
        spec = self.ctx.choices.get(name)
        if spec is None or spec.dependent:
            raise fail(
                "E245",
                f"a domain may depend only on choices with fixed candidates; `{name}` has none",
                e.span,
            )
        return spec.domain

    def _choice_options(self, e, env: Env, kind: str, options: Any) -> tuple[str, Any]:
        kw = {k.name: k for k in e.keywords}
        for k in e.keywords:
            if k.name not in _CHOICE_KEYWORDS:
                raise fail(
                    "E246",
                    f"`choice` has no option `{k.name}`",
                    k.span,
                    hint=suggest(k.name, _CHOICE_KEYWORDS)
                    or "options are `realise=` and `default=`",
                )
        realise = self._realisation(kw.get("realise"), kind)
        domain = self._default_domain(options)
        if "default" not in kw:
            return realise, domain[0]
        node = kw["default"].value
        # `default=skip` names a candidate of a oneof or an input choice, not a variable
        default = (
            node.id
            if isinstance(node, ast.Name) and kind in ("op", "input")
            else self.eval(node, env)
        )
        if default not in domain:
            where = " when the other choices take their defaults" if is_symbolic(options) else ""
            raise fail(
                "E247",
                f"default {describe(default)} is not one of the candidates{where}",
                kw["default"].value.span,
                hint='the label `none` is a word: write default="none"'
                if default is None and "none" in domain
                else "candidates: "
                + ", ".join(_shown(o) for o in domain[:20])
                + (", ..." if len(domain) > 20 else ""),
            )
        return realise, default

    def _default_domain(self, options: Any) -> tuple:
        """The candidates when every choice this domain depends on has its default."""
        if not is_symbolic(options):
            return options
        config = {name: self.ctx.choices[name].default for name in _deps(options)}
        values = evaluate(options, config)
        return tuple(values) if isinstance(values, (tuple, list)) else (values,)

    def _realisation(self, kw: ast.Keyword | None, kind: str) -> str:
        if kw is None:
            return _DEFAULT_REALISE[kind]
        value = kw.value
        word = (
            value.id
            if isinstance(value, ast.Name)
            else value.value
            if isinstance(value, ast.String)
            else None
        )
        if word not in REALISATIONS:
            raise fail(
                "E248",
                f"unknown realisation `{word or '?'}`",
                value.span,
                hint=suggest(word or "", REALISATIONS)
                or f"realisations are {', '.join(REALISATIONS)}",
            )
        if word == "elastic" and kind in ("str", "op", "input"):
            raise fail(
                "E249",
                "`elastic` slices shared weights, so it applies to numbers "
                "and on/off switches only",
                value.span,
                hint="use `sampled`, `weighted`, `gumbel` or `policy`",
            )
        return word

    def _choice_name(self, e, env: Env, hint: str | None, base: str) -> str:
        if e.label is not None:
            return self.ctx.path(self.label_text(e.label, env))
        return self.ctx.path(hint) if hint else self.ctx.path(self.ctx.auto_label(base))

    # ---- choices over tensors
    def _input_choice(self, e: ast.ChoiceExpr, options: tuple, env: Env, hint) -> Any:
        if not all(isinstance(o, Tensor) for o in options):
            raise fail("E242", "a choice over tensors must list only tensors", e.span)
        if len(options) < 2:
            raise fail(
                "E241",
                "a choice needs at least two candidates",
                e.span,
                hint="write the tensor itself when there is nothing to choose",
            )
        names = [o.id for o in e.options if isinstance(o, ast.Name)]
        labels = (
            tuple(names)
            if len(names) == len(options) == len(set(names))
            else tuple(range(len(options)))
        )
        name = self._choice_name(e, env, hint, "choice")
        realise, default = self._choice_options(e, env, "input", labels)
        self.ctx.add_choice(
            ChoiceSpec(
                name=name,
                kind="input",
                domain=labels,
                realise=realise,
                default=default,
                span=e.span,
            )
        )
        label = name.rsplit(".", 1)[-1]
        attrs = {"choice": name, "labels": labels, "realise": realise}
        return self.ctx.add_node(
            "choose",
            None,
            self.ctx.auto_label(label),
            attrs,
            tuple(o.node for o in options),
            e.span,
        )

    # ---- oneof(...)
    def _eval_oneof(self, e: ast.OneOf, env: Env, hint: str | None = None) -> Any:
        candidates = tuple(
            (self._candidate_label(c), Template((c.stage,), env, self._candidate_label(c)))
            for c in e.candidates
        )
        labels = [label for label, _ in candidates]
        for label in labels:
            if labels.count(label) > 1:
                raise fail(
                    "E250",
                    f"two candidates are called `{label}`",
                    e.span,
                    hint="label them: `oneof(c3: conv(16, k=3), c5: conv(16, k=5))`",
                )
        if len(candidates) < 2:
            raise fail("E241", "`oneof` needs at least two candidates", e.span)
        name = self._choice_name(e, env, hint, "oneof")
        realise, default = self._choice_options(e, env, "op", tuple(labels))
        self.ctx.add_choice(
            ChoiceSpec(
                name=name,
                kind="op",
                domain=tuple(labels),
                realise=realise,
                default=default,
                span=e.span,
            )
        )
        return OpChoice(choice=name, candidates=candidates)

    def _candidate_label(self, c: ast.Candidate) -> str:
        if c.name:
            return c.name
        func = c.stage.func if isinstance(c.stage, ast.Call) else c.stage
        if isinstance(func, ast.Name):
            return func.id
        if isinstance(func, ast.Attribute):
            return func.attr
        if isinstance(func, ast.NoneLit):
            raise fail(
                "E251",
                "`none` is a value, not an op, so it cannot be a candidate by itself; "
                "for DARTS's zero op write `none: zero` (the candidate `zero`, labelled none)",
                c.span,
            )
        raise fail("E251", "give this candidate a label: `name: stage`", c.span)

    def apply_op_choice(self, oc: OpChoice, value: Any, site: ast.Node, label) -> Any:
        ctx = self.ctx
        segment = ctx.auto_label(oc.choice.rsplit(".", 1)[-1])
        outputs = []
        spec = ctx.choices.get(oc.choice)
        with ctx.enter(segment, site.span):
            for cand_label, fn in oc.candidates:
                with (
                    ctx.guarded(apply("eq", ChoiceRef(oc.choice, "str"), cand_label)),
                    ctx.enter(cand_label, site.span),
                ):
                    out = self.apply_chain(fn.stages, value, fn.env)
                if isinstance(out, Poison):
                    return POISON
                if not isinstance(out, Tensor):
                    raise fail(
                        "E252",
                        f"candidate `{cand_label}` must give a tensor, got {describe(out)}",
                        site.span,
                    )
                outputs.append(out.node)
        attrs = {
            "choice": oc.choice,
            "labels": tuple(c for c, _ in oc.candidates),
            "realise": spec.realise if spec else "sampled",
        }
        return ctx.add_node("choose", None, segment, attrs, tuple(outputs), site.span)

    # ---- repeat(n) { i => ... }
    def _eval_repeat(self, e: ast.Repeat, env: Env, hint: str | None = None) -> Any:
        raise fail("E253", "`repeat` is a stage: write `x -> repeat(n) { ... }`", e.span)

    def apply_repeat(self, e: ast.Repeat, value: Any, env: Env) -> Any:
        count = self.eval(e.count, env)
        if isinstance(count, Poison):
            return POISON
        counts = self._repeat_counts(e, count)
        label = self.label_text(e.label, env) if e.label else None
        label = (
            self.ctx.claim_label(label, e.label.span) if label else self.ctx.auto_label("repeat")
        )
        start = len(self.ctx.nodes)
        for i in range(max(counts)):
            self.ctx.charge(e.span)
            if i == 1:  # the first iteration's size tells whether the rest can fit
                self.ctx.project(len(self.ctx.nodes) - start, max(counts) - 1, e.span)
            body_env = env.child({e.index_var: i} if e.index_var else {})
            if i < min(counts):
                with self.ctx.enter(f"{label}[{i}]", e.span):
                    value = self.apply_chain(e.stages, value, body_env)
                continue
            cond = apply("gt", count, i)
            with self.ctx.guarded(cond), self.ctx.enter(f"{label}[{i}]", e.span):
                out = self.apply_chain(e.stages, value, body_env)
            value = self._bypass(cond, out, value, e, self.ctx.path(f"{label}[{i}]"))
        return value

    def _bypass(self, cond: Sym, out: Any, value: Any, e: ast.Repeat, iteration: str) -> Any:
        if not (
            isinstance(out, Tensor)
            or (isinstance(out, tuple) and out and all(isinstance(t, Tensor) for t in out))
        ):
            if isinstance(out, Poison):
                return POISON
            raise fail(
                "E254",
                f"a `repeat` whose count is a choice must produce tensors, got {describe(out)}",
                e.span,
            )
        return self.select(cond, out, value, e, bypass=iteration)

    def _repeat_counts(self, e: ast.Repeat, count: Any) -> list[int]:
        if isinstance(count, bool) or (not isinstance(count, int) and not is_symbolic(count)):
            raise fail(
                "E255", f"repeat count must be an integer, got {describe(count)}", e.count.span
            )
        if isinstance(count, int):
            if count < 0:
                raise fail(
                    "E255",
                    f"repeat count must not be negative, got {shown_number(count)}",
                    e.count.span,
                )
            if count > MAX_REPEAT:
                raise fail(
                    "E255",
                    f"repeat count {shown_number(count)} is above the limit of {MAX_REPEAT}",
                    e.count.span,
                )
            return [count] if count else [0]
        if count.type != "int":
            raise fail(
                "E255", f"repeat count must be an integer, got {describe(count)}", e.count.span
            )
        values = sorted(
            {v for _, dom in self._domains_over_parents((count,), e.count) for v in dom}
        )
        if values[0] < 0:
            raise fail("E255", "repeat count can be negative for some choices", e.count.span)
        if values[-1] > MAX_REPEAT:
            raise fail(
                "E255",
                f"repeat count can be {shown_number(values[-1])}, above the limit of {MAX_REPEAT}",
                e.count.span,
            )
        return values


def _deps(options: Any) -> set[str]:
    if isinstance(options, Sym):
        return set(options.deps())
    return set().union(*(o.deps() for o in options if isinstance(o, Sym)))


def _shown(value: Any) -> str:
    return (
        f'"{value}"'
        if isinstance(value, str)
        else str(value).lower()
        if isinstance(value, bool)
        else shown_number(value)
        if isinstance(value, int)
        else str(value)
    )


def _describe_config(config: dict[str, Any]) -> str:
    return ", ".join(f"`{k}` = {_shown(v)}" for k, v in config.items()) or "nothing is chosen"
