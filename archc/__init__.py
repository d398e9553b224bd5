"""archc: a declarative architecture compiler for neural architecture search.

The distribution maps the top-level folders of the repository into this
namespace: `archc.dsl` (front end), `archc.compiler`, `archc.runtime` and
`archc.grammars` (the grammar and the standard library of blocks).
"""

__version__ = "0.1.0"
