"""The PyTorch backend: IR -> `nn.Module`. Imported only by code that wants torch."""

from archc.compiler.backends.torch.build import FixedNet, build_module
from archc.compiler.backends.torch.supernet import Supernet, build_supernet

__all__ = ["FixedNet", "Supernet", "build_module", "build_supernet"]
