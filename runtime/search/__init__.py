"""Search: strategies over configs, the trial loop, supernet training drivers, and the
one-shot search that ties them together (docs/search.md).

- strategies/: ask/tell strategies (random, evolution, nsga2), torch-free
- limits: the limits of a search and the check that they can be met
- trial_log, trials: `trials.jsonl`, and the ask-evaluate-log-tell loop with replay
- manifest: what a search folder was made from; the same-search check of a resume
- pareto: the front, hypervolume and `pareto.png`
- evaluate, session (torch): evaluation of subnets with shared weights
- drivers/sandwich (torch): supernet training with the sandwich rule, a `TrainStep`
- outputs, one_shot: `front.json`, `best.json`, `best/`; `run_search`

Strategies, limits, the trial loop, the manifest and the Pareto code import no torch,
so a search can be planned, replayed or driven by any evaluator in a torch-free process.
"""
