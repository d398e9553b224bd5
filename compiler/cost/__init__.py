"""Cost: parameters, MACs and predicted latency of the subnets of a space.

One package for every way a cost is computed, all from the same op rules
(`archc.compiler.ops`):

- `count.count_cost`: the reference walk over one config's subnet; simple and exact,
  every faster path must equal it (`Cost` is the record all of them return);
- `model.CostModel`: the same numbers from tables factorised over groups of choices,
  built once per space (`Space.cost`); `shared` adds the terms of weight sharers
  (`weight_sharing` is the rule for when a sharer owns its weights);
- `batch.BatchCostModel`: the model's tables as numpy arrays gathered at encoded
  configs (`Space.cost_many`), LUT latency included;
- `extremes` over `factors`: the smallest and largest cost over a whole space;
- `latency_table`: reading and predicting with `archc lut` tables (measuring them
  needs onnxruntime and lives in `compiler/backends/onnx/lut.py`).

The differentiable expected cost under architecture weights needs torch and lives in
`compiler/backends/torch/expected_cost.py`, over the same tables.
"""
