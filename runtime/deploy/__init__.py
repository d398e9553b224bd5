"""Deployment: the exported ONNX model evaluated as shipped (`onnx_pose`), and the
calibrated, mixed-precision int8 export (`int8`); docs/deployment.md."""
