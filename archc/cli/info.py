"""`archc info FILE`: choices, cardinality, params and MACs ranges, per-stage costs."""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from typing import TYPE_CHECKING

from archc.cli.common import add_config_options, chosen_config, load_space
from archc.compiler.ir import facts

if TYPE_CHECKING:
    from archc.compiler.space.space import Space


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "info",
        help="show a space's choices, size and cost",
        description="Compile FILE and report its choices (domain, realisation, default), the "
        "exact number of valid configs and of distinct architectures (configs that differ "
        "only in choices their network does not read count once), the range of params "
        "and MACs over all "
        "configs (exact by enumeration or by variable elimination over the cost "
        "tables; bounds where neither works: the output says which, per metric), "
        "and the cost of one config with a per-stage "
        "breakdown. MACs are true multiply-accumulates unless --convention hrnet "
        "(conv/linear only, transposed conv over output pixels, as the pose "
        "papers print).",
    )
    p.add_argument("file", metavar="FILE")
    add_config_options(p)
    p.add_argument("--convention", choices=("true", "hrnet"), default="true")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    space = load_space(args.file, args.defines)
    config = chosen_config(space, args)
    report = build_report(space, config, args.convention)
    print(json.dumps(report, indent=2) if args.json else render_table(space, report))
    return 0


def build_report(space: Space, config, convention: str) -> dict:
    rng = space.cost_range(convention)
    archs, archs_exact = space.architectures()
    report = {
        "name": space.name,
        "kind": "net" if facts(space.graph).is_net else "space",
        "num_choices": len(space.choices),
        "size": str(space.size()),
        "architectures": str(archs),
        "architectures_exact": archs_exact,
        "params_range": list(rng.params),
        "macs_range": list(rng.macs),
        "range_exact": rng.exact,
        "params_exact": rng.params_exact,
        "macs_exact": rng.macs_exact,
        "convention": convention,
        "choices": [_choice(c) for c in space.choices],
    }
    if config is not None:
        cost = space.cost_model(convention)(config)
        report.update(
            config=dict(config),
            params=cost.params,
            macs=cost.macs,
            stages=_stages(space, config, convention),
            violations=space.violations(config, cost),
        )
    return report


def _choice(c) -> dict:
    return {
        "name": c.name,
        "kind": c.kind,
        "realise": c.realise,
        "default": c.default,
        "domain": list(c.domain) if c.domain is not None else f"depends on {', '.join(c.parents)}",
    }


def _stages(space: Space, config, convention: str) -> list[dict]:
    from archc.compiler.cost.count import node_cost  # `archc check` never needs it

    """Cost per top-level scope of the derived subnet (ops outside scopes: `(top)`)."""
    derived = space.derive(config).graph
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for n in derived.nodes:
        name = derived.nodes[n]["ir"].name
        cost = node_cost(derived, n, {}, convention)
        key = name.split(".")[0] if "." in name else "(top)"
        totals[key][0] += cost.params
        totals[key][1] += cost.macs
    return [{"stage": k, "params": p, "macs": m} for k, (p, m) in totals.items()]


def render_table(space: Space, r: dict) -> str:
    lines = [
        f"{r['kind']} {r['name']}: {r['num_choices']} choices, {int(r['size']):,} valid configs"
    ]
    if r["choices"]:
        bound = "" if r["architectures_exact"] else " at most (a bound: the configs)"
        lines[0] += f", {int(r['architectures']):,} distinct architectures{bound}"
    if r["choices"]:
        width = max(len(c["name"]) for c in r["choices"])
        lines.append("")
        lines.append(f"  {'choice':<{width}}  {'realise':<8}  {'default':<8}  domain")
        for c in r["choices"]:
            domain = c["domain"] if isinstance(c["domain"], str) else _short(c["domain"])
            lines.append(
                f"  {c['name']:<{width}}  {c['realise']:<8}  "
                f"{json.dumps(c['default']):<8}  {domain}"
            )
    how = {True: "exact", False: "bounds: some cost terms are computed per config"}
    lines += [
        "",
        f"params  {r['params_range'][0]:>15,} .. {r['params_range'][1]:,}  "
        f"({how[r['params_exact']]})",
        f"MACs    {r['macs_range'][0]:>15,} .. {r['macs_range'][1]:,}  "
        f"({how[r['macs_exact']]}, {r['convention']} convention)",
    ]
    if "params" in r:
        lines += _config_lines(r)
    return "\n".join(lines)


def _config_lines(r: dict) -> list[str]:
    out = ["", f"this config: {r['params']:,} params, {r['macs']:,} MACs ({r['macs'] / 1e9:.3f} G)"]
    for s in r["stages"]:
        out.append(f"  {s['stage']:<24} {s['params']:>12,} params {s['macs']:>16,} MACs")
    out += [f"  constraint broken: {v}" for v in r["violations"]]
    return out


def _short(values: list) -> str:
    text = ", ".join(json.dumps(v) for v in values[:12])
    return f"{{{text}{', ...' if len(values) > 12 else ''}}}"
