"""Fuzzing the front end: broken programs must give diagnostics, never exceptions.

Seeds are every `.arch` file of the repository (examples/, the standard
library, tests/fixtures/) plus a few programs below that use most of the
language. Mutants are made deterministically (seeded `random.Random`) by
deleting a token or a line, swapping two identifiers or two lines,
duplicating a line, replacing a number by a huge, negative, zero or float
value, inserting a keyword or punctuation, truncating the file, or inserting
random bytes (invalid UTF-8 and NUL included). For each mutant,
`check_file` must return (no exception, `ArchError` included), every
diagnostic must have a span with line >= 1 and a message, rendering must work,
and no mutant may take more than a few seconds (a hang is a bug too).

Two hypothesis tests add inputs that are not derived from files: random
sequences of the grammar's keywords, punctuation, names and numbers (mostly
syntax errors), and programs generated from grammars/arch.lark itself by
`hypothesis.extra.lark` (mostly well-formed, so evaluation is reached).

The default run (1,500 mutants, 400 token sequences, 100 generated programs)
takes about 30 s on two cores. `ARCHC_FUZZ_MUTANTS`, `ARCHC_FUZZ_EXAMPLES` and
`ARCHC_FUZZ_PROGRAMS` change those numbers; the `slow` run (`make test-slow`)
tries 20,000 other mutants. The mutants change when the seed files do.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import signal
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.lark import from_lark
from lark import Lark

from archc.dsl.frontend import check_file
from archc.grammars import GRAMMAR_PATH
from archc.kernel.diagnostics import render

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_MUTANTS = int(os.environ.get("ARCHC_FUZZ_MUTANTS", "600"))
SLOW_MUTANTS = 20_000
PER_INPUT_SECONDS = 20.0  # generous for a slow CI machine; real hangs run for minutes

# Programs using most of the language, so mutants reach every stage even
# while examples/ is small. They are seeds only: their paths need not exist.
EXTRA_SEEDS = {
    "fuzz_seed_space.arch": """
import std
const WIDTHS = [16, 24, 40]
const JOINTS = 17

block mbconv(x: tensor, out: int, e: int = 4, k: int = 3, stride: int = 1) -> tensor {
    "An inverted residual."
    let mid = x.channels * e
    let y = x -> conv(mid) -> bn -> relu6
        -> conv(mid, k=k, stride=stride, groups=mid) -> bn -> relu6 -> conv(out) -> bn
    return (y + x) if stride == 1 and x.channels == out else y
}

space pose {
    "A small pose space."
    input image: [3, 256, 192]
    let stem = image -> conv(WIDTHS[0], k=3, stride=2) -> bn -> relu() as stem
    let e = choice(3, 4, 6)
    let heads = choice([d for d in divisors(8 * e) if d >= 2], realise=sampled)
    scope s2 {
        let depth = choice(2..4)
        let x = stem -> repeat(depth) as blocks { i => mbconv(24, e=e, k=choice(3, 5, 7),
                                                              stride=2 if i == 0 else 1) }
    }
    let att = choice(false, true)
    let y = x -> (conv(32) if att else skip) -> oneof(c3: conv(32, k=3), c5: conv(32, k=5),
                                                       skip, realise=weighted)
    let z = choice(x, y) as fuse
    assert len(WIDTHS) == 3, "three widths"
    assert e * 8 >= 16, "wide enough"
    output heatmaps = z -> deconv(64) -> conv(JOINTS, k=1, bias=true)
    constraint macs <= 700M
    constraint params <= 3M
    constraint latency(cpu) <= 30ms
}
""",
    "fuzz_seed_net.arch": """
import std.mobile as m
const C = [32, 64, 128]
const HALF = [c // 2 for c in C if c > 32]

block stage(x: tensor, out: int, n: int) -> tensor {
    return x -> repeat(n) { i => conv(out, k=3, stride=2 if i == 0 else 1) -> bn -> relu }
}

net fixed {
    input image: [3, 128, 96]
    let a = image -> stage(C[0], 2)
    scope b[0] {
        let p = a -> stage(C[1], n=1) -> maxpool(k=3, stride=2)
    }
    scope b[1] shares weights with b[0] {
        let q = a -> stage(C[1], n=1)
    }
    let r = cat([p -> upsample(factor=2), q]) -> conv(HALF[0] + 1 ** 2 - 3 % 2)
    let g = r -> global_avgpool -> linear(17) -> sigmoid
    output heatmaps = r * (g -> hsigmoid(bias=1.0, divisor=2.0)) -> conv(17)
    output extra = [r, r][0] -> activation(fn="relu") -> conv(max(min(4, 8), -1 * -2))
}
""",
}

NUMBERS = (
    "0",
    "-1",
    "-7",
    "1e308",
    "0.5",
    "2.75",
    "1e-9",
    "99999999999999999999",
    "4294967297",
    "100000",
    "3K",
    "10G",
    "1.5M",
    "30ms",
    "007",
)
INSERTS = (
    "let",
    "return",
    "assert",
    "scope",
    "input",
    "output",
    "constraint",
    "import",
    "const",
    "op",
    "block",
    "space",
    "net",
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
    "as",
    "step",
    "true",
    "false",
    "none",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ",",
    ":",
    "=",
    "->",
    "=>",
    "..",
    ".",
    "+",
    "-",
    "*",
    "/",
    "//",
    "%",
    "**",
    "==",
    "<",
    ">=",
    '"',
    "'",
    "#",
    "\n",
    "x",
    "image",
    "conv",
    "std",
)
BYTES = (
    b"\x00",
    b"\xff",
    b"\xfe\xff",
    b"\xc3",
    b"\xe2\x82",
    b"\x80\x80",
    b"\xed\xa0\x80",
    b"\r",
    b"\t",
    b"\x0b\x0c",
    "\u00e9".encode(),
    "\u2028".encode(),
    "\U0001f600".encode(),
)
TOKEN = re.compile(
    r'"(?:[^"\\\n]|\\.)*"|#[^\n]*|\d+(?:\.\d+)?(?:[eE][+-]?\d+)?[A-Za-z]*'
    r"|[A-Za-z_]\w*|->|=>|\.\.|\*\*|//|==|!=|<=|>=|\S"
)
NUMBER = re.compile(r"\d")
NAME = re.compile(r"[A-Za-z_]")


def _seeds() -> list[tuple[Path, str]]:
    found = [
        *sorted(ROOT.glob("examples/**/*.arch")),
        *sorted((ROOT / "grammars" / "std").glob("*.arch")),
        *sorted((ROOT / "tests" / "fixtures").rglob("*.arch")),
    ]
    seeds = [(p, p.read_text()) for p in found]
    seeds += [
        (ROOT / "tests" / "fixtures" / "ok" / name, text) for name, text in EXTRA_SEEDS.items()
    ]
    return seeds


# ------------------------------------------------------------------ mutations


def _tokens(text: str) -> list[re.Match]:
    return list(TOKEN.finditer(text))


def _delete_token(rng: random.Random, text: str) -> str:
    toks = _tokens(text)
    if not toks:
        return text
    t = rng.choice(toks)
    return text[: t.start()] + text[t.end() :]


def _insert_token(rng: random.Random, text: str) -> str:
    toks = _tokens(text)
    at = rng.choice(toks).start() if toks else 0
    return f"{text[:at]}{rng.choice(INSERTS)} {text[at:]}"


def _swap_identifiers(rng: random.Random, text: str) -> str:
    names = [t for t in _tokens(text) if NAME.match(t.group())]
    if len(names) < 2:
        return text
    a, b = sorted(rng.sample(names, 2), key=lambda t: t.start())
    return text[: a.start()] + b.group() + text[a.end() : b.start()] + a.group() + text[b.end() :]


def _replace_number(rng: random.Random, text: str) -> str:
    numbers = [t for t in _tokens(text) if NUMBER.match(t.group())]
    if not numbers:
        return text
    t = rng.choice(numbers)
    return text[: t.start()] + rng.choice(NUMBERS) + text[t.end() :]


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True) or [""]


def _delete_line(rng: random.Random, text: str) -> str:
    lines = _lines(text)
    del lines[rng.randrange(len(lines))]
    return "".join(lines)


def _duplicate_line(rng: random.Random, text: str) -> str:
    lines = _lines(text)
    i = rng.randrange(len(lines))
    lines.insert(i, lines[i] if lines[i].endswith("\n") else lines[i] + "\n")
    return "".join(lines)


def _swap_lines(rng: random.Random, text: str) -> str:
    lines = _lines(text)
    i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
    lines[i], lines[j] = lines[j], lines[i]
    return "".join(lines)


def _truncate(rng: random.Random, text: str) -> str:
    return text[: rng.randrange(len(text) + 1)]


def _insert_bytes(rng: random.Random, data: bytes) -> bytes:
    at = rng.randrange(len(data) + 1)
    junk = rng.choice(BYTES) if rng.random() < 0.6 else rng.randbytes(rng.randint(1, 8))
    return data[:at] + junk + data[at:]


TEXT_MUTATIONS: dict[str, Callable[[random.Random, str], str]] = {
    "delete_token": _delete_token,
    "insert_token": _insert_token,
    "swap_identifiers": _swap_identifiers,
    "replace_number": _replace_number,
    "delete_line": _delete_line,
    "duplicate_line": _duplicate_line,
    "swap_lines": _swap_lines,
    "truncate": _truncate,
}
WEIGHTS = {
    "delete_token": 3,
    "insert_token": 2,
    "swap_identifiers": 3,
    "replace_number": 4,
    "delete_line": 2,
    "duplicate_line": 2,
    "swap_lines": 2,
    "truncate": 1,
    "insert_bytes": 1,
}


@dataclass
class Mutant:
    seed: Path
    ops: tuple[str, ...]
    data: str | bytes


def mutants(count: int, rng_seed: int = 20240601) -> Iterator[Mutant]:
    """`count` mutants, the same ones on every run for the same seed files."""
    rng = random.Random(rng_seed)
    seeds = _seeds()
    names, weights = list(WEIGHTS), list(WEIGHTS.values())
    sizes = [len(text) ** 0.5 + 10 for _, text in seeds]  # bigger seeds reach further
    for _ in range(count):
        path, data = rng.choices(seeds, sizes)[0]
        ops = tuple(rng.choices(names, weights, k=1 if rng.random() < 0.7 else 2))
        out: str | bytes = data
        for op in ops:
            if op == "insert_bytes":
                raw = out.encode() if isinstance(out, str) else out
                out = _insert_bytes(rng, raw)
            elif isinstance(out, str):
                out = TEXT_MUTATIONS[op](rng, out)
        yield Mutant(path, ops, out)


# ------------------------------------------------------------------ checking


class _Hang(Exception):
    pass


@contextlib.contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    if not hasattr(signal, "setitimer"):
        yield
        return

    def on_alarm(signum, frame):
        raise _Hang(f"no result after {seconds} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def check_one(path: Path, data: str | bytes, scratch: Path | None = None) -> str | None:
    """None if `check_file` behaved; else what went wrong."""
    if isinstance(data, bytes):
        assert scratch is not None, "bytes need a scratch file"
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            scratch.write_bytes(data)
            path, data = scratch, None  # read from disk, as for a user's file
    try:
        with _time_limit(PER_INPUT_SECONDS):
            result = check_file(path, data)
            text = render(result.diagnostics, result.sources)
    except _Hang as err:
        return f"hang: {err}"
    except Exception as err:  # any escape is the bug being looked for
        return f"{type(err).__name__}: {err}"[:300]
    assert isinstance(text, str)
    for d in result.diagnostics:
        if d.span is None or d.span.line < 1 or d.span.column < 1:
            return f"diagnostic without a location: {d.code} {d.message!r} at {d.span}"
        if not d.message.strip():
            return f"diagnostic without a message: {d.code} at {d.span}"
    return None


def _run(count: int, tmp_path: Path, record_property, rng_seed: int = 20240601) -> None:
    scratch = tmp_path / "mutant.arch"
    failures: list[str] = []
    ops: Counter[str] = Counter()
    start = time.perf_counter()
    n = 0
    for m in mutants(count, rng_seed):
        n += 1
        ops.update(m.ops)
        problem = check_one(m.seed, m.data, scratch)
        if problem:
            failures.append(
                f"{m.seed.name} {'+'.join(m.ops)}: {problem}\n--- mutant:\n{m.data!r}"[:2000]
            )
    elapsed = time.perf_counter() - start
    record_property("fuzz_mutants", n)
    record_property("fuzz_seconds", round(elapsed, 1))
    record_property("fuzz_failures", len(failures))
    print(
        f"fuzz: {n} mutants of {len(_seeds())} seeds in {elapsed:.1f} s, "
        f"{len(failures)} failures; mutations: {dict(sorted(ops.items()))}"
    )
    assert not failures, f"{len(failures)} of {n} mutants broke the front end:\n\n" + "\n\n".join(
        failures[:5]
    )


def test_mutants_never_escape(tmp_path, record_property):
    _run(DEFAULT_MUTANTS, tmp_path, record_property)


@pytest.mark.slow
def test_many_mutants_never_escape(tmp_path, record_property):
    _run(SLOW_MUTANTS, tmp_path, record_property, rng_seed=7)  # not the default run's mutants


def test_mutants_are_deterministic():
    first = [(m.seed, m.ops, m.data) for m in mutants(40)]
    assert first == [(m.seed, m.ops, m.data) for m in mutants(40)]
    assert len({d for _, _, d in first}) > 30  # and they differ from each other


def test_extra_seeds_are_clean():
    """The programs above must stay valid, so that mutants start from working code."""
    for name, text in EXTRA_SEEDS.items():
        result = check_file(ROOT / "tests" / "fixtures" / "ok" / name, text)
        assert result.ok, render(result.diagnostics, result.sources)
        assert result.spaces and all(s.nodes for s in result.spaces)


# ------------------------------------------------------------------ hypothesis


def _grammar_words() -> tuple[str, ...]:
    """Every keyword and punctuation of grammars/arch.lark, read from lark's terminals."""
    lark = Lark(GRAMMAR_PATH.read_text(), parser="lalr", lexer="contextual")
    words: set[str] = set()
    for t in lark.terminals:
        if t.pattern.type == "str":
            words.add(t.pattern.value)
        elif re.fullmatch(r"\(\?:[^()]*\)", t.pattern.value):  # COMPARE, MUL_OP, SPACE_KIND
            words.update(w.replace("\\", "") for w in t.pattern.value[3:-1].split("|"))
    return tuple(sorted(words))


GRAMMAR = Lark(GRAMMAR_PATH.read_text(), parser="lalr", lexer="contextual")
WORDS = _grammar_words()
NAMES = (
    "x",
    "y",
    "image",
    "conv",
    "bn",
    "relu",
    "skip",
    "k",
    "e",
    "tiny",
    "mbconv",
    "std",
    "range",
    "divisors",
    "len",
    "tensor",
    "int",
    "list",
    "macs",
    "latency",
    "cpu",
    "i",
)
LITERALS = (
    "0",
    "1",
    "3",
    "16",
    "700M",
    "30ms",
    "1.5",
    "1e9",
    "99999999999999",
    '"relu"',
    '"blocks.arch"',
    '""',
    "\n",
)
TOKENS = st.sampled_from(WORDS + NAMES + LITERALS)
WRAPPERS = (
    "{}",
    "space s {{\n    input image: [3, 16, 16]\n    {}\n}}\n",
    "block b(x: tensor, n: int = 2) -> tensor {{\n    {}\n}}\n"
    "net n {{\n    input image: [3, 16, 16]\n    output o = image -> b\n}}\n",
    "space s {{\n    input image: [3, 16, 16]\n    let y = {}\n    output o = y\n}}\n",
)
HYPOTHESIS_PATH = ROOT / "tests" / "fixtures" / "ok" / "hypothesis.arch"


def test_grammar_words_are_found():
    assert {"let", "->", "**", "==", "//", "space", "net", "{", "=>"} <= set(WORDS)


@settings(
    max_examples=int(os.environ.get("ARCHC_FUZZ_EXAMPLES", "400")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    tokens=st.lists(TOKENS, max_size=40),
    wrapper=st.sampled_from(WRAPPERS),
    glue=st.sampled_from([" ", "\n", ""]),
)
def test_random_token_sequences(tokens, wrapper, glue):
    source = wrapper.format(glue.join(tokens))
    problem = check_one(HYPOTHESIS_PATH, source)
    assert problem is None, f"{problem}\n--- source:\n{source}"


PROGRAMS = from_lark(
    GRAMMAR,
    explicit={
        "WS": st.sampled_from([" ", "\n"]),
        "COMMENT": st.just("# c\n"),
        "NAME": st.sampled_from(NAMES),
        "STRING": st.sampled_from(['"relu"', '"b.arch"', '""']),
        "NUMBER": st.sampled_from(["0", "1", "3", "16", "700M", "30ms", "1.5", "99999999999"]),
    },
)


@settings(
    max_examples=int(os.environ.get("ARCHC_FUZZ_PROGRAMS", "100")),
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
@given(source=PROGRAMS)
def test_programs_generated_from_the_grammar(source):
    """Mostly well-formed programs (hypothesis.extra.lark), so evaluation is reached."""
    problem = check_one(HYPOTHESIS_PATH, source)
    assert problem is None, f"{problem}\n--- source:\n{source}"
