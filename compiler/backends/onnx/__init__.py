"""The ONNX backend: a fixed IR graph -> one self-contained ONNX model.

`to_onnx` emits ONNX nodes straight from the IR (one emitter per primitive op,
`emit_*` modules), with weights from a provider: the derived torch module for
`archc export`, seeded random arrays for latency measurement. Emitting from the
IR rather than tracing a module keeps the graph to exactly the subnet's ops and
weights, makes an export take milliseconds (the latency table measures
thousands of single-op models) and needs no torch for `archc lut`.
"""

from archc.compiler.backends.onnx.builder import DEFAULT_OPSET, EMITTERS, Weights, to_onnx

__all__ = ["DEFAULT_OPSET", "EMITTERS", "Weights", "to_onnx"]
