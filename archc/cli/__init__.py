"""The `archc` command line: argument parsing, rendering, exit codes only.

Importing the command line imports the compiler, lark and pydantic: some
hundred thousand objects, all kept, which the cyclic collector would scan again
and again at its default threshold (about a tenth of `archc check` on a small
file). The collector therefore runs rarely until `main` starts, which puts the
threshold back and freezes what the imports made (`gc.freeze`: kept for the
process's life, never scanned again).
"""

import gc

IMPORT_GC_THRESHOLD = gc.get_threshold()
gc.set_threshold(max(IMPORT_GC_THRESHOLD[0], 100_000), *IMPORT_GC_THRESHOLD[1:])


def imports_done() -> None:
    """Called by `main` once the commands are imported (see the module docstring).
    Only the first call freezes: a process that calls `main` many times (the tests)
    must not keep freezing objects that later become garbage."""
    gc.set_threshold(*IMPORT_GC_THRESHOLD)
    if not _FROZEN:
        gc.freeze()
        _FROZEN.append(True)


_FROZEN: list[bool] = []
