"""archc: a declarative architecture compiler for neural architecture search.

The distribution maps the top-level folders of the repository into this
namespace: `archc.dsl` (front end), `archc.compiler`, `archc.runtime` and
`archc.grammars` (the grammar and the standard library of blocks).
"""

__version__ = "0.1.0"


def __getattr__(name: str):
    """`archc.load`, `archc.load_ir` and `archc.Space` without importing the compiler
    on `import archc`."""
    if name in ("load", "load_ir", "Space"):
        from archc.compiler.space import space

        return getattr(space, name)
    raise AttributeError(f"module 'archc' has no attribute {name!r}")
