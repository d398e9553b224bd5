"""ViPNAS temporal pose estimation (torch): a fixed key-frame net and T propagation
nets that each see their frame and the previous frame's heatmaps (ViPNAS 3.3-3.4).

Modules:

- contract: what a temporal space looks like to the runtime (which input is the
  key frame's heatmaps, which are the frames, which outputs are whose heatmaps),
  and `propagate`, one forward of the T frames
- keynet: the key-frame net, loaded from a training run or a net file and weights,
  frozen
- clip_model: key net + propagation nets as one module over whole clips, what
  validation, the search and inference run
- step: multi-frame sandwich training of the temporal supernet, a `TrainStep`
- evaluate: online evaluation of subnets with the supernet's weights, for the search
"""
