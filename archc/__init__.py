"""archc: a declarative architecture compiler for neural architecture search.

The distribution maps the top-level folders of the repository into this
namespace: `archc.dsl` (front end), `archc.compiler`, `archc.runtime` and
`archc.grammars` (the grammar and the standard library of blocks).
"""

from archc.kernel.version import __version__ as __version__


def __getattr__(name: str):
    """`archc.load`, `archc.load_ir` and `archc.Space` without importing the compiler
    on `import archc`."""
    if name == "load":
        from archc.api import load

        return load
    if name in ("load_ir", "Space"):
        from archc.compiler.space import space

        return getattr(space, name)
    raise AttributeError(f"module 'archc' has no attribute {name!r}")
