"""`archc.torch`: the PyTorch side of archc (imports torch).

`build_module(space)` builds a fixed network (a `net`, or `space.derive(config)`)
as a plain `nn.Module` whose state-dict keys follow the `.arch` names;
`build_supernet(space, realise=None)` the weight-sharing supernet with
`set_active(config)` and `derive(config)`; `recalibrate_bn(module, batches)`;
`GumbelTemperature` anneals the temperature of Gumbel-softmax choices;
`expected_latency(supernet, table)` is the latency under softmax(alpha) from a
latency table, differentiable (EfficientPose Eq. 4).
"""

from archc.compiler.backends.torch import FixedNet, Supernet, build_module, build_supernet
from archc.compiler.backends.torch.expected_latency import expected_latency
from archc.runtime.recalibrate import recalibrate_bn
from archc.runtime.temperature import GumbelTemperature

__all__ = [
    "FixedNet",
    "GumbelTemperature",
    "Supernet",
    "build_module",
    "build_supernet",
    "expected_latency",
    "recalibrate_bn",
]
