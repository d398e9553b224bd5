"""The facade that chains the stages: parse and elaborate (`archc.dsl`), then lower
to the IR, drop dead nodes and verify (`archc.compiler`). Library code raises or
returns diagnostics; it never prints. Nothing here imports torch.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import networkx as nx

from archc.compiler.lower import lower
from archc.compiler.passes.eliminate_dead_nodes import eliminate_dead_nodes
from archc.compiler.passes.verify import verify
from archc.dsl.diagnostics import Diagnostic, Severity
from archc.dsl.frontend import check_file


@dataclass
class Compiled:
    """Every space/net of one file, lowered, with all diagnostics of every stage."""

    path: str
    graphs: list[nx.MultiDiGraph] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not any(d.severity is Severity.ERROR for d in self.diagnostics)


def compile_file(path: str | os.PathLike, text: str | None = None) -> Compiled:
    """Check a file and lower each of its spaces to the IR (shape checks included).

    A space with front-end errors is not lowered: its graph would only repeat them.
    """
    checked = check_file(path, text)
    result = Compiled(str(path), diagnostics=list(checked.diagnostics), sources=checked.sources)
    if not checked.ok:
        return result
    for space in checked.spaces:
        graph, diagnostics = lower(space)
        result.diagnostics.extend(diagnostics)
        if not diagnostics:
            graph = eliminate_dead_nodes(graph)
            verify(graph)
            result.graphs.append(graph)
    return result
