"""The torch side of the primitive ops: one record per op (`record.OpRecord`: plain
module, elastic module, largest sizes, call, export), registered once by its family
module, as the op rules are in `archc.compiler.ops`.

One op family per module: conv (conv, deconv, linear), norm, pool, activation,
combine, shape, regularise, transformer. An elastic module allocates its weights at
the largest sizes, takes its size arguments at forward time (output width, kernel,
groups, ...) and the input width from the input itself, and can `export` the exact
weights a plain module of that size needs, so a derived subnet computes what the
supernet computed. Records know nothing of the IR's planning: the torch backend
(`archc.compiler.backends.torch`) looks them up and tells them what to do.
"""

from archc.runtime.ops.conv import (
    ElasticConv2d,
    ElasticConvTranspose2d,
    ElasticLinear,
    FlatLinear,
    centre_crop,
)
from archc.runtime.ops.norm import ElasticBatchNorm2d, ElasticLayerNorm
from archc.runtime.ops.record import RECORDS, Largest, OpRecord, all_records, get
from archc.runtime.ops.regularise import DropPath, set_drop_path_scale
from archc.runtime.ops.transformer import (
    ElasticAttention,
    ElasticChannelNorm,
    ElasticClsToken,
    ElasticPosEmbed,
)

__all__ = [
    "RECORDS",
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
    "FlatLinear",
    "Largest",
    "OpRecord",
    "all_records",
    "centre_crop",
    "get",
    "set_drop_path_scale",
]
