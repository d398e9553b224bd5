"""The PyTorch backend: IR -> `nn.Module`. Imported only by code that wants torch."""

from archc.compiler.backends.torch.build import FixedNet, build_module

__all__ = ["FixedNet", "build_module"]
