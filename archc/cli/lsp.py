"""`archc lsp`: run the language server on stdin/stdout (for editors)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "lsp",
        help="run the .arch language server (for editors)",
        description="Speak the Language Server Protocol on stdin/stdout: diagnostics as you "
        "type, hover (shapes, choice domains), go to definition, formatting. Needs the "
        "`lsp` extra: pip install 'archc[lsp]'.",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from archc.lsp import serve  # pygls: checked by archc.cli.requires

    serve()
    return 0
