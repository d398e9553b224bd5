"""Elastic ops: modules whose weights are allocated at their largest and sliced per call.

One op family per module. Every elastic op takes its size arguments at forward
time (output width, kernel, groups, ...) and the input width from the input
itself, and can `export` the exact weights a fixed module of that size needs,
so a derived subnet computes what the supernet computed. They know nothing of
the IR: the torch backend tells them what to do.
"""

from archc.runtime.ops.attention import (
    ElasticAttention,
    ElasticChannelNorm,
    ElasticClsToken,
    ElasticPosEmbed,
)
from archc.runtime.ops.conv import ElasticConv2d, ElasticConvTranspose2d, centre_crop
from archc.runtime.ops.drop import DropPath, set_drop_path_scale
from archc.runtime.ops.linear import ElasticLinear
from archc.runtime.ops.norm import ElasticBatchNorm2d, ElasticLayerNorm

__all__ = [
    "DropPath",
    "ElasticAttention",
    "ElasticBatchNorm2d",
    "ElasticChannelNorm",
    "ElasticClsToken",
    "ElasticConv2d",
    "ElasticConvTranspose2d",
    "ElasticLayerNorm",
    "ElasticLinear",
    "ElasticPosEmbed",
    "centre_crop",
    "set_drop_path_scale",
]
