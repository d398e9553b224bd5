"""The IR as JSON: save a lowered space once, reload it without the front end or sources.

A reloaded graph must equal the saved one exactly, so every value carries its type:
`null`, booleans, integers and strings are themselves; a float is `{"float": 0.25}`
(or `"inf"`, `"-inf"`, `"nan"`), so `1.0` never comes back as `1`, whatever language
reads the file; a JSON list is a tuple (the language's lists); a symbolic value is
`{"sym": "choice" | "apply" | "var" | "comprehension", ...}` (a comprehension over a
choice-dependent list holds its loop variables, its list and its items as expressions,
and for messages its source text and [name, value] pairs); a builtin function is
`{"builtin": name}`. Spans are `[file, line, column, end_line, end_column]`. No AST is
written: the front end's syntax can change without changing this format.

Version 2 replaced version 1's `deferred` values (an AST and its environment); an older
file is refused with a message saying to compile the `.arch` file again.

Records are written from the field tables below, so the encoder and the strict decoder
cannot drift apart. Decoding rejects unknown fields, untagged floats and dangling node
ids with the JSON path of the bad item: a silently different graph is worse than none.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import networkx as nx

from archc.compiler.ir import IRNode, SpaceFacts, facts
from archc.dsl.builtins import BUILTINS
from archc.dsl.values import BuiltinFn
from archc.kernel.files import write_atomic
from archc.kernel.span import Span
from archc.kernel.specs import ChoiceSpec, ConstraintSpec
from archc.kernel.symbolic import (
    FUNCTIONS,
    Apply,
    ChoiceRef,
    Comprehension,
    Var,
    comprehension,
    deps_of,
)
from archc.kernel.version import __version__

FORMAT = "archc-ir"
VERSION = 2  # bump on any change an older reader would misread (and see `_too_old`)
GRAPH_KEYS = ("name", "is_net", "doc", "choices", "inputs", "outputs", "constraints", "checks")
# Present only on derived subnets: the config it was derived with, and which supernet
# weights its diverging weight sharers are sliced from (name -> supernet weight name).
DERIVED_KEYS = ("derived_from", "weight_sources")
# Records: field -> kind; `_KINDS` (at the end) says how each kind is written and read.
CHOICE = {
    "name": "str",
    "kind": "str",
    "domain": "value",
    "realise": "str",
    "default": "value",
    "span": "span",
}
CONSTRAINT = {
    "metric": "str",
    "device": "str?",
    "scope": "str?",
    "op": "str",
    "bound": "number",
    "span": "span",
}
CHECK = {"cond": "value", "message": "str", "span": "span"}
NODE = {
    "id": "int",
    "kind": "str",
    "op": "str?",
    "name": "str",
    "weight_name": "str",
    "attrs": "attrs",
    "guard": "value",
    "shape": "tuple",
    "max_shape": "tuple",
    "span": "span",
    "trace": "spans",
}
SYMS = {
    "choice": (ChoiceRef, {"name": "str", "type": "type"}),
    "apply": (Apply, {"fn": "fn", "args": "tuple", "type": "type"}),
    "var": (Var, {"name": "str", "type": "type"}),
    "comprehension": (
        Comprehension,
        {"names": "vars", "iterable": "value", "items": "value", "source": "str?", "where": "env"},
    ),
}
SYM_TYPES = ("int", "float", "bool", "str", "list", "any")
_JSON_KINDS = {
    dict: "an object",
    list: "a list",
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "a boolean",
    type(None): "null",
}


class IRFormatError(ValueError):
    """A document or file that is not a readable archc IR; the message says where and why."""


# ---------------------------------------------------------------------------- encoding


def ir_fingerprint(graph: nx.MultiDiGraph) -> str:
    """A short hash of the IR (what a latency table or a cache was made for)."""
    text = json.dumps(ir_to_json(graph), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def ir_to_json(graph: nx.MultiDiGraph) -> dict:
    """The JSON document (plain dicts and lists, header included) of a lowered IR graph."""
    extra = sorted(set(graph.graph) - {"facts"})
    if "facts" not in graph.graph or extra:  # a new attribute needs a format change
        raise ValueError(f"cannot serialise graph attributes: {sorted(graph.graph)} (only facts)")
    g = _facts_fields(facts(graph))
    nodes = []
    for i, (n, data) in enumerate(graph.nodes(data=True)):
        ir = data.get("ir")
        if set(data) != {"ir"} or not isinstance(ir, IRNode) or ir.id != n:
            raise ValueError(f"node {n} must carry exactly one IRNode with id {n} under 'ir'")
        nodes.append(_enc_record(NODE, vars(ir), f"$.nodes[{i}]"))
    edges = []
    for src, dst, key, data in graph.edges(keys=True, data=True):
        if data != {"port": key}:
            raise ValueError(f"edge {src} -> {dst} (key {key}) must carry only port={key}")
        edges.append([src, dst, key])
    return {
        "format": FORMAT,
        "version": VERSION,
        "archc": __version__,
        "name": g["name"],
        "is_net": g["is_net"],
        "doc": g["doc"],
        "inputs": dict(g["inputs"]),
        "outputs": dict(g["outputs"]),
        "choices": [
            _enc_record(CHOICE, vars(c), f"$.choices[{i}]") for i, c in enumerate(g["choices"])
        ],
        "constraints": [
            _enc_record(CONSTRAINT, vars(c), f"$.constraints[{i}]")
            for i, c in enumerate(g["constraints"])
        ],
        "checks": [
            _enc_record(CHECK, dict(zip(CHECK, c, strict=True)), f"$.checks[{i}]")
            for i, c in enumerate(g["checks"])
        ],
        **{
            k: {name: _enc(v, _key(f"$.{k}", name)) for name, v in g[k].items()}
            for k in DERIVED_KEYS
            if k in g
        },
        "nodes": nodes,
        "edges": edges,
    }


def _enc_record(schema: dict[str, str], values: dict, path: str) -> dict:
    return {k: _KINDS[kind][0](values[k], _key(path, k)) for k, kind in schema.items()}


def _enc(value: Any, path: str) -> Any:
    """The tagged JSON form of one value; `path` locates a value that has none."""
    if type(value) in (bool, int, str, type(None)):
        return value
    if type(value) is float:
        return {"float": value if math.isfinite(value) else repr(value)}
    if type(value) is tuple:
        return [_enc(v, f"{path}[{i}]") for i, v in enumerate(value)]
    for tag, (cls, schema) in SYMS.items():
        if type(value) is cls:
            return {"sym": tag, **_enc_record(schema, vars(value), path)}
    if isinstance(value, BuiltinFn) and BUILTINS.get(value.name) == value:
        return {"builtin": value.name}
    raise TypeError(f"cannot serialise {type(value).__name__} {value!r} at {path}")


# ---------------------------------------------------------------------------- decoding


def ir_from_json(data: Any) -> nx.MultiDiGraph:
    """The IR graph of a document made by `ir_to_json` (after a trip through JSON text)."""
    if type(data) is not dict:
        raise IRFormatError(
            f"not an archc IR document: the top level is {_kind(data)}, expected an object"
        )
    if data.get("format") != FORMAT:
        found = (
            f"format is {json.dumps(data['format'])}" if "format" in data else 'no "format" field'
        )
        raise IRFormatError(f'not an archc IR document ({found}, expected "{FORMAT}")')
    version = data.get("version")
    if type(version) is not int or version < 1:
        raise _bad("$.version", f"expected a positive integer, got {json.dumps(version)}")
    if version > VERSION:
        raise IRFormatError(
            f"IR format version {version} is newer than archc {__version__} "
            f"reads ({VERSION}): written by a newer archc; upgrade"
        )
    if version < VERSION:
        raise _too_old(version)
    try:
        return _graph(data)
    except RecursionError:
        raise IRFormatError("malformed IR: values are nested too deeply") from None


def _too_old(version: int) -> IRFormatError:
    return IRFormatError(
        f"IR format version {version} is older than archc {__version__} reads ({VERSION}): "
        "compile the .arch file again with this archc (`archc compile FILE -o DIR`, "
        "or `Space.save_ir`)"
    )


def _graph(data: dict) -> nx.MultiDiGraph:
    derived = tuple(k for k in DERIVED_KEYS if k in data)
    _fields(data, "$", ("format", "version", "archc", *GRAPH_KEYS, *derived, "nodes", "edges"))
    _typed(data["archc"], "$.archc", str)
    graph = nx.MultiDiGraph()
    for i, item in enumerate(_typed(data["nodes"], "$.nodes", list)):
        ir = IRNode(**_dec_record(NODE, item, f"$.nodes[{i}]"))
        if ir.id in graph:
            raise _bad(f"$.nodes[{i}].id", f"node id {ir.id} appears twice")
        graph.add_node(ir.id, ir=ir)
    for i, item in enumerate(_typed(data["edges"], "$.edges", list)):
        if type(item) is not list or len(item) != 3 or any(type(x) is not int for x in item):
            raise _bad(f"$.edges[{i}]", "expected [source id, target id, port]")
        src, dst, port = item
        if src not in graph or dst not in graph:
            raise _bad(f"$.edges[{i}]", f"node {dst if src in graph else src} is not in $.nodes")
        if graph.has_edge(src, dst, key=port):
            raise _bad(f"$.edges[{i}]", f"edge {src} -> {dst} port {port} appears twice")
        graph.add_edge(src, dst, key=port, port=port)
    for key in ("inputs", "outputs"):
        for name, n in _typed(data[key], f"$.{key}", dict).items():
            if type(n) is not int or n not in graph:
                raise _bad(
                    _key(f"$.{key}", name), f"expected a node id in $.nodes, got {json.dumps(n)}"
                )
    graph.graph["facts"] = SpaceFacts(
        name=_typed(data["name"], "$.name", str),
        is_net=_typed(data["is_net"], "$.is_net", bool),
        doc=_typed(data["doc"], "$.doc", str, type(None)),
        choices=_records(data, "choices", CHOICE, ChoiceSpec),
        inputs=data["inputs"],
        outputs=data["outputs"],
        constraints=_records(data, "constraints", CONSTRAINT, ConstraintSpec),
        checks=_records(data, "checks", CHECK, lambda **fields: tuple(fields.values())),
        **{
            key: {
                name: _dec(v, _key(f"$.{key}", name))
                for name, v in _typed(data[key], f"$.{key}", dict).items()
            }
            for key in derived
        },
    )
    return graph


def _facts_fields(f: SpaceFacts) -> dict[str, Any]:
    """The facts as the document's top-level fields: the derived ones only when set."""
    out = {key: getattr(f, key) for key in GRAPH_KEYS}
    return out | {key: getattr(f, key) for key in DERIVED_KEYS if getattr(f, key) is not None}


def _records(data: dict, key: str, schema: dict[str, str], make: Callable) -> tuple:
    items = _typed(data[key], f"$.{key}", list)
    return tuple(make(**_dec_record(schema, v, f"$.{key}[{i}]")) for i, v in enumerate(items))


def _dec_record(schema: dict[str, str], v: Any, path: str) -> dict:
    """The fields of one record, each read as its kind says; exactly `schema`'s fields."""
    _fields(v, path, tuple(schema))
    return {k: _KINDS[kind][1](v[k], _key(path, k)) for k, kind in schema.items()}


def _dec(v: Any, path: str) -> Any:
    """The value of a tagged JSON form; the inverse of `_enc`."""
    if type(v) in (bool, int, str, type(None)):
        return v
    if type(v) is list:
        return tuple(_dec(x, f"{path}[{i}]") for i, x in enumerate(v))
    if type(v) is float:
        raise _bad(path, 'an untagged float; floats are written {"float": x}')
    if type(v) is not dict:
        raise _bad(path, f"expected a value, got {_kind(v)}")
    if "float" in v:
        x = _fields(v, path, ("float",))["float"]
        if type(x) in (int, float) or x in ("inf", "-inf", "nan"):
            return float(x)
        raise _bad(
            f"{path}.float", f'expected a number, "inf", "-inf" or "nan", got {json.dumps(x)}'
        )
    if "builtin" in v:
        name = _fields(v, path, ("builtin",))["builtin"]
        return BUILTINS[_known(name, f"{path}.builtin", BUILTINS, "builtin function")]
    if "sym" not in v:
        raise _bad(path, 'an object value needs a "float", "builtin" or "sym" tag')
    cls, schema = SYMS[_known(v["sym"], f"{path}.sym", SYMS, "symbolic kind")]
    fields = _dec_record({"sym": "str", **schema}, v, path)
    del fields["sym"]
    # An Apply is built directly, never through `apply`, whose folding could change the
    # graph, with its dependencies recomputed from the arguments as `apply` does; a
    # comprehension through `comprehension`, which does not fold.
    if cls is Comprehension:
        return comprehension(**fields)
    if cls is Apply:
        fields["_deps"] = deps_of(fields["args"])
    return cls(**fields)


def _dec_vars(v: Any, path: str) -> tuple:
    names = _dec(_typed(v, path, list), path)
    for i, name in enumerate(names):
        if type(name) is not Var:
            raise _bad(f"{path}[{i}]", 'expected a loop variable {"sym": "var", ...}')
    if not names:
        raise _bad(path, "a comprehension needs at least one loop variable")
    return names


def _dec_env(v: Any, path: str) -> tuple:
    for i, pair in enumerate(_typed(v, path, list)):
        if type(pair) is not list or len(pair) != 2 or type(pair[0]) is not str:
            raise _bad(f"{path}[{i}]", "expected a [name, value] pair")
    return _dec(v, path)


def _dec_span(v: Any, path: str) -> Span:
    if (
        type(v) is not list
        or len(v) != 5
        or type(v[0]) is not str
        or any(type(x) is not int for x in v[1:])
    ):
        raise _bad(path, "expected a span [file, line, column, end_line, end_column]")
    return Span(file=v[0], line=v[1], column=v[2], end_line=v[3], end_column=v[4])


def _dec_number(v: Any, path: str) -> int | float:
    number = _dec(v, path)
    if type(number) not in (int, float):
        raise _bad(path, f"expected a number, got {_kind(v)}")
    return number


def _known(v: Any, path: str, known: Any, what: str) -> str:
    if type(v) is not str or v not in known:
        raise _bad(path, f"unknown {what} {json.dumps(v)}")
    return v


def _fields(v: Any, path: str, names: tuple[str, ...]) -> dict:
    """`v` must be an object with exactly the fields `names`."""
    _typed(v, path, dict)
    for name in (n for n in names if n not in v):
        raise _bad(path, f'missing field "{name}"')
    for name in (n for n in v if n not in names):
        raise _bad(path, f"unexpected field {json.dumps(name)}")
    return v


def _typed(v: Any, path: str, *types: type) -> Any:
    if type(v) not in types:
        raise _bad(path, f"expected {' or '.join(_JSON_KINDS[t] for t in types)}, got {_kind(v)}")
    return v


def _kind(v: Any) -> str:
    return _JSON_KINDS.get(type(v), type(v).__name__)


def _key(path: str, key: str) -> str:
    return f"{path}.{key}" if key.isidentifier() else f"{path}[{json.dumps(key)}]"


def _bad(path: str, problem: str) -> IRFormatError:
    return IRFormatError(f"malformed IR at {path}: {problem}")


def _span(span: Span, _path: str = "") -> list:
    return [span.file, span.line, span.column, span.end_line, span.end_column]


def _same(value: Any, _path: str) -> Any:
    return value


_KINDS: dict[str, tuple[Callable, Callable]] = {  # kind -> (encode, decode)
    "str": (_same, lambda v, p: _typed(v, p, str)),
    "str?": (_same, lambda v, p: _typed(v, p, str, type(None))),
    "int": (_same, lambda v, p: _typed(v, p, int)),
    "type": (_same, lambda v, p: _known(v, p, SYM_TYPES, "type")),
    "fn": (_same, lambda v, p: _known(v, p, FUNCTIONS, "function")),
    "value": (_enc, _dec),
    "number": (_enc, _dec_number),
    "tuple": (_enc, lambda v, p: _dec(_typed(v, p, list), p)),
    "env": (_enc, _dec_env),
    "vars": (_enc, _dec_vars),
    "span": (_span, _dec_span),
    "spans": (
        lambda v, p: [_span(s) for s in v],
        lambda v, p: tuple(_dec_span(s, f"{p}[{i}]") for i, s in enumerate(_typed(v, p, list))),
    ),
    "attrs": (
        lambda v, p: {k: _enc(x, _key(p, k)) for k, x in v.items()},
        lambda v, p: {k: _dec(x, _key(p, k)) for k, x in _typed(v, p, dict).items()},
    ),
}


# ---------------------------------------------------------------------------- files


def save_ir(graph: nx.MultiDiGraph, path: str | os.PathLike) -> None:
    """Write `graph` to `path` atomically: a reader sees the old file or the new, never half."""
    text = json.dumps(ir_to_json(graph), allow_nan=False, separators=(",", ":")) + "\n"
    write_atomic(path, text)


def load_ir(path: str | os.PathLike) -> nx.MultiDiGraph:
    """Read a file written by `save_ir`; every failure is an `IRFormatError` naming the file."""
    name = os.fspath(path)
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise IRFormatError(f"{name}: no such file") from None
    except OSError as err:
        raise IRFormatError(f"{name}: cannot read: {err.strerror or err}") from None
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as err:
        raise IRFormatError(f"{name}: not JSON (byte {err.start} is not UTF-8)") from None
    except json.JSONDecodeError as err:
        raise IRFormatError(f"{name}: not JSON ({err.lineno}:{err.colno}): {err.msg}") from None
    except RecursionError:
        raise IRFormatError(f"{name}: not JSON: nested too deeply") from None
    try:
        return ir_from_json(data)
    except IRFormatError as err:
        raise IRFormatError(f"{name}: {err}") from None
