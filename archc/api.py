"""The facade that chains the stages: parse and elaborate (`archc.dsl`), then lower
to the IR, drop dead nodes and verify (`archc.compiler`). Library code raises or
returns diagnostics; it never prints. Nothing here imports torch.
"""

from __future__ import annotations

import contextlib
import gc
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Union

from archc.compiler.ir import facts
from archc.compiler.ir_graph import IRGraph
from archc.compiler.lower import lower_ir
from archc.compiler.passes.eliminate_dead_nodes import eliminate_dead_nodes
from archc.compiler.passes.verify import verify
from archc.dsl.defines import Define, from_values, parse_define
from archc.dsl.frontend import check_file
from archc.kernel.diagnostics import ArchError, Diagnostic, Severity

if TYPE_CHECKING:
    import networkx as nx

    from archc.compiler.space.space import Space

Defines = Union[Mapping[str, Any], Iterable[Union[str, Define]], None]


def _defines(defines: Defines) -> list[Define]:
    """Python values (`{"T": 4}`), or `NAME=VALUE` texts as `-D` gives them."""
    if isinstance(defines, Mapping):
        return from_values(defines)
    out, errors = [], []
    for item in defines or ():
        try:
            out.append(parse_define(item) if isinstance(item, str) else item)
        except ArchError as err:
            errors += err.diagnostics
    if errors:
        raise ArchError(errors)
    return out


@dataclass
class Compiled:
    """Every space/net of one file, lowered, with all diagnostics of every stage.

    `lowered` holds each space's IR as lowering built it, `checked` the same with
    dead nodes removed and verified; `graphs` (networkx, as every pass after
    lowering takes them) are made from `lowered` when first asked for, so that
    `archc check` never imports networkx.
    """

    path: str
    diagnostics: list[Diagnostic] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)
    lowered: list[IRGraph] = field(default_factory=list)
    checked: list[IRGraph] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(d.severity is Severity.ERROR for d in self.diagnostics)

    @cached_property
    def graphs(self) -> list[nx.MultiDiGraph]:
        """Each space as a networkx graph without dead nodes."""
        return [eliminate_dead_nodes(g.to_networkx()) for g in self.lowered]


def compile_file(
    path: str | os.PathLike, text: str | None = None, defines: Defines = None
) -> Compiled:
    """Check a file and lower each of its spaces to the IR (shape checks included).

    `defines` replace constants of the file: `{"T": 4}` from Python, or the parsed
    `-D NAME=VALUE` options of the command line (`archc.dsl.defines`). A space with
    front-end errors is not lowered: its graph would only repeat them.
    """
    with _rare_collections():
        return _compile(path, text, defines)


@contextlib.contextmanager
def _rare_collections():
    """Compiling allocates about a million short-lived objects (AST values, symbolic
    expressions, IR dicts), nearly all freed by reference counting; at the default
    threshold of 700 allocations the cyclic collector scans them thousands of times,
    a fifth of `archc check` on the largest example. It runs rarely while compiling."""
    threshold = gc.get_threshold()
    gc.set_threshold(max(threshold[0], 100_000), *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)


def _compile(path: str | os.PathLike, text: str | None, defines: Defines) -> Compiled:
    try:
        overrides = _defines(defines)
    except ArchError as err:  # a define that does not parse: nothing else is worth checking
        sources = {f"-D {t.partition('=')[0].strip()}": t.partition("=")[2] for t in defines or ()}
        return Compiled(str(path), diagnostics=list(err.diagnostics), sources=sources)
    checked = check_file(path, text, overrides)
    result = Compiled(str(path), diagnostics=list(checked.diagnostics), sources=checked.sources)
    if not checked.ok:
        return result
    for space in checked.spaces:
        graph, diagnostics = lower_ir(space)
        result.diagnostics.extend(diagnostics)
        if not diagnostics:
            live = eliminate_dead_nodes(graph)
            verify(live)  # the networkx graph made from it later holds the same
            result.lowered.append(graph)
            result.checked.append(live)
    return result


def load(
    path: str | os.PathLike,
    text: str | None = None,
    name: str | None = None,
    defines: Mapping[str, Any] | None = None,
) -> Space:
    """Compile a file and return its space (`name` picks one when it has several);
    `defines` replace constants of the file (`{"T": 4}`), checked like them.

    Raises `ArchError` with every diagnostic when the file has errors.
    """
    from archc.compiler.space.space import Space

    result = compile_file(path, text, defines)
    if not result.ok:
        raise ArchError(result.diagnostics)
    graphs = result.graphs
    if name is not None:
        graphs = [g for g in graphs if facts(g).name == name]
    if len(graphs) != 1:
        found = ", ".join(facts(g).name for g in result.graphs) or "none"
        raise ValueError(
            f"{path}: expected one space{f' named {name!r}' if name else ''}; found: {found}"
        )
    return Space(graphs[0])
