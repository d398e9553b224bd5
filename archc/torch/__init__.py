"""`archc.torch`: the PyTorch side of archc (imports torch).

`build_module(space)` builds a fixed network (a `net`, or `space.derive(config)`)
as a plain `nn.Module` whose state-dict keys follow the `.arch` names;
`build_supernet(space, realise=None)` the weight-sharing supernet with
`set_active(config)` and `derive(config)`; `recalibrate_bn(module, batches)`;
`GumbelTemperature` anneals the temperature of Gumbel-softmax choices;
`expected_cost(supernet, "macs"|"params"|"latency", lut=None)` is the cost
under the mixing probabilities of alpha, differentiable (EfficientPose Eq. 4);
`expected_latency(supernet, lut)` its latency form.
"""

from archc.compiler.backends.torch import FixedNet, Supernet, build_module, build_supernet
from archc.compiler.backends.torch.expected_cost import expected_cost, expected_latency
from archc.runtime.recalibrate import recalibrate_bn
from archc.runtime.temperature import GumbelTemperature

__all__ = [
    "FixedNet",
    "GumbelTemperature",
    "Supernet",
    "build_module",
    "build_supernet",
    "expected_cost",
    "expected_latency",
    "recalibrate_bn",
]
