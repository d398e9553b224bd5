"""`archc.torch`: the PyTorch side of archc (imports torch).

`build_module(space)` builds a fixed network (a `net`, or `space.derive(config)`)
as a plain `nn.Module` whose state-dict keys follow the `.arch` names.
"""

from archc.compiler.backends.torch import FixedNet, Supernet, build_module, build_supernet

__all__ = ["FixedNet", "Supernet", "build_module", "build_supernet"]
