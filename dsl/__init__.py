"""The .arch front end: parsing, the AST, semantic analysis, elaboration, formatting.

`archc.dsl` imports nothing else of archc and never imports torch. The stage
functions are composed in `archc.dsl.frontend`; everything a user can get wrong
is reported as a `Diagnostic` (see `archc.kernel.diagnostics`).
"""

from archc.kernel.diagnostics import ArchError, Diagnostic, Severity
from archc.kernel.span import Span

__all__ = ["ArchError", "Diagnostic", "Severity", "Span"]
