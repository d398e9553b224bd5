"""Search: strategies over configs, the trial loop, training-step drivers, and the
searches that tie them together (docs/search.md).

- strategies/: ask/tell strategies (random, evolution, nsga2), torch-free
- limits: the limits of a search and the check that they can be met
- trial_log, trials: `trials.jsonl`, and the ask-evaluate-log-tell loop with replay
- manifest: what a search folder was made from; the same-search check of a resume
- pareto: the front, hypervolume and `pareto.png`
- evaluate, session (torch): evaluation of subnets with shared weights
- drivers/sandwich (torch): supernet training with the sandwich rule, a `TrainStep`
- outputs, one_shot: `front.json`, `best.json`, `best/`; `run_search`
- budget: random subnets trained from scratch within a wall-time budget
- drivers/differentiable (torch): DARTS, PoseNFS sync, Gumbel as a `TrainStep`;
  cost_loss: its cost term; alphas: `alphas.jsonl`/`alphas.png`
- gradient_options, gradient: the options and `run_gradient_search` (darts, sync,
  gumbel, reinforce): a training run plus derivation
- controller, drivers/reinforce, policy (torch): AutoPose's REINFORCE controller over
  policy choices, its `TrainStep`, and the derivation by controller samples

Strategies, limits, the trial loop, the manifest and the Pareto code import no torch,
so a search can be planned, replayed or driven by any evaluator in a torch-free process.
"""
