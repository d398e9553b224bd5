"""The ViPNAS temporal space (examples/spaces/vipnas_temporal.arch, ViPNAS 3.3-3.4 and
Fig. 2): three non-key frames, each the MobileNetV3 spatial space plus a temporal fusion
module at a chosen stage, sharing one supernet's weights while choosing separately, under
one MAC budget over the frames."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import archc
from archc.cli import main as cli
from archc.compiler.cost.count import count_cost
from archc.compiler.ir import facts
from archc.compiler.space import Config

SPACES = Path(__file__).resolve().parents[2] / "examples" / "spaces"
TEMPORAL = SPACES / "vipnas_temporal.arch"
FUSION = {"F1": (24, 64 * 48), "F2": (40, 32 * 24), "F3": (112, 16 * 12), "F4": (160, 8 * 6)}


@pytest.fixture(scope="module")
def temporal():
    return archc.load(TEMPORAL)


@pytest.fixture(scope="module")
def mbv3():
    return archc.load(SPACES / "vipnas_mbv3.arch")


@pytest.fixture(scope="module")
def released() -> dict:
    return dict(Config.load(SPACES / "vipnas_mbv3.released.json"))


def frames(base: dict, fusions: list[tuple[str, str]]) -> dict:
    """A config: every frame takes the mbv3 config `base` and its (fuse_at, fuse_op)."""
    config = {}
    for t, (at, op) in enumerate(fusions, start=1):
        prefix = f"frame[{t}].t_vipnet."
        config |= {
            prefix + "fuse_at": at,
            prefix + "fuse_op": op,
            **{prefix + k: v for k, v in base.items()},
        }
    return config


def fusion_cost(at: str, op: str) -> tuple[int, int]:
    """Params and MACs of the fusion module: 1x1 conv with bias on the 17 heatmaps at
    64 x 48 (before the resize), then a 1x1 conv with bias on C (add, mul) or 2C (cat)."""
    c, hw = FUSION[at]
    cin = 2 * c if op == "cat" else c
    return 17 * c + c + cin * c + c, 17 * c * 64 * 48 + cin * c * hw


def test_every_frame_decides_its_own_spatial_and_temporal_architecture(temporal, mbv3):
    names = [c.name for c in temporal.choices]
    assert len(names) == 3 * (len(mbv3.choices) + 2)
    for t in (1, 2, 3):
        prefix = f"frame[{t}].t_vipnet."
        mine = [n.removeprefix(prefix) for n in names if n.startswith(prefix)]
        assert mine == ["fuse_at", "fuse_op"] + [c.name for c in mbv3.choices]
        assert list(temporal.table.domain_of(prefix + "fuse_at")) == list(FUSION)
        assert list(temporal.table.domain_of(prefix + "fuse_op")) == ["add", "mul", "cat"]
    assert list(facts(temporal.graph).inputs) == [
        "image[1]",
        "image[2]",
        "image[3]",
        "key_heatmaps",
    ]
    assert list(facts(temporal.graph).outputs) == ["heatmaps[1]", "heatmaps[2]", "heatmaps[3]"]


def test_the_frames_share_one_super_networks_weights(temporal):
    g = temporal.graph
    weighted = [
        g.nodes[n]["ir"]
        for n in g.nodes
        if g.nodes[n]["ir"].op in ("conv", "deconv", "bn", "linear")
    ]
    for t in (2, 3):
        mine = [n for n in weighted if n.name.startswith(f"frame[{t}].")]
        assert mine and all(
            n.weight_name == n.name.replace(f"frame[{t}]", "frame[1]", 1) for n in mine
        )
    assert all(n.weight_name == n.name for n in weighted if n.name.startswith("frame[1]."))


@pytest.mark.parametrize("at, op", [("F1", "add"), ("F2", "mul"), ("F3", "cat"), ("F4", "cat")])
def test_a_frame_is_the_mbv3_net_plus_its_fusion_module(temporal, mbv3, released, at, op):
    config = frames(released, [(at, op)] * 3)
    params, macs = fusion_cost(at, op)
    base = mbv3.cost(released)
    for t in (1, 2, 3):  # a scope's cost is its own subnetwork's, shared weights included
        frame = temporal.cost_model(scope=f"frame[{t}]")(config)
        assert (frame.params, frame.macs) == (base.params + params, base.macs + macs)
    total = temporal.cost(config)
    assert total.macs == 3 * (base.macs + macs)  # computed three times
    assert total.params == base.params + params  # stored once: every frame agrees


def test_a_frame_that_chooses_differently_has_weights_of_its_own(temporal, released):
    """Frame 2 fuses at F2 while frame 1 fuses at F1: frame 2's F2 fusion has no owner
    in the subnet, so its params count; frame 3 agrees with frame 1 and adds none."""
    same = frames(released, [("F1", "add")] * 3)
    differ = frames(released, [("F1", "add"), ("F2", "add"), ("F1", "add")])
    extra = temporal.cost(differ).params - temporal.cost(same).params
    assert extra == fusion_cost("F2", "add")[0]
    derived = temporal.derive(differ)
    assert derived.cost() == temporal.cost(differ) == count_cost(temporal.graph, differ)
    sources = facts(derived.graph).weight_sources
    assert sources == {
        f"frame[2].t_vipnet.f2.{op}": f"frame[1].t_vipnet.f2.{op}" for op in ("project", "add_conv")
    }


def test_a_narrower_stage_in_one_frame_diverges_from_the_shared_one(temporal, released):
    narrow = dict(released) | {"s4.e": 3, "s4.g": 40}
    differ = frames(released, [("F1", "add")] * 3)
    differ |= {f"frame[3].t_vipnet.{k}": v for k, v in narrow.items()}
    same = frames(released, [("F1", "add")] * 3)
    frame3 = temporal.cost_model(scope="frame[3]")
    # frame 3's stage-4 modules whose shape changed are counted again, the rest stays shared
    changed = temporal.cost(differ).params - temporal.cost(same).params
    assert 0 < changed < frame3(differ).params
    assert temporal.derive(differ).cost().params == temporal.cost(differ).params


def test_the_mac_budget_is_over_all_frames_and_per_frame(temporal):
    specs = [(c.metric, c.scope, c.op, c.bound) for c in temporal.constraints]
    assert specs == [("macs", None, "<=", 850_000_000)] + [
        ("macs", f"frame[{t}]", "<=", 734_000_000) for t in (1, 2, 3)
    ]
    assert temporal.violations(temporal.smallest()) == []
    assert any("breaks `macs <= 850,000,000`" in v for v in temporal.violations(temporal.largest()))


def test_sampling_meets_the_papers_budget_by_repair_walks(temporal):
    """Uniform draws meet 850M over three frames about once in 10^8: the sampler
    repairs draws instead, and every config it returns holds every constraint."""
    seen = set()
    for seed in range(3):
        config = temporal.sample_within(seed, max_macs=840e6)
        assert temporal.violations(config) == []
        assert temporal.cost(config).macs <= 840e6
        seen.add(tuple(config.values()))
    assert len(seen) == 3


def test_archc_sample_and_info_on_the_temporal_space(capsys, temporal):
    assert cli.main(["sample", str(TEMPORAL), "--n", "2", "--seed", "1"]) == 0
    out, err = capsys.readouterr()
    configs = [Config(json.loads(line)["choices"]) for line in out.splitlines()]
    assert len(configs) == 2 and "2 of 2 configs came from repair walks" in err
    assert all(temporal.violations(c) == [] for c in configs)
    assert cli.main(["info", str(TEMPORAL), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert (
        doc["num_choices"] == 96
        and int(doc["size"]) == temporal.size() == (19_174_731_402_240_000 * 4 * 3) ** 3
    )


# ---- T said once: the loop version equals the hand-written T = 3 space


HAND_WRITTEN = Path(__file__).resolve().parents[1] / "fixtures" / "ok" / "vipnas_temporal_t3.arch"


def _structure(space) -> str:
    """The IR document without source positions (the two files differ in lines only)."""

    def strip(value):
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in ("span", "trace")}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return json.dumps(strip(space.to_json()), sort_keys=True)


def test_the_loop_gives_exactly_the_hand_written_ir_and_costs(temporal, released):
    """Same nodes (ids, names, weight names, attributes, guards, shapes), edges, choices,
    constraints and checks; the one difference is the generated names `image[t]` and
    `heatmaps[t]` for the hand-written `imageT` and `heatmapsT` (and the docstring)."""
    old = archc.load(HAND_WRITTEN)
    expected = _structure(old).replace("T = 3 non-key frames", "T non-key frames")
    for t in (1, 2, 3):
        expected = expected.replace(f'"image{t}"', f'"image[{t}]"')
        expected = expected.replace(f'"heatmaps{t}"', f'"heatmaps[{t}]"')
    assert _structure(temporal) == expected
    configs = [temporal.default(), temporal.smallest(), temporal.largest()]
    configs += [temporal.sample(seed) for seed in range(5)]
    configs += [frames(released, [("F1", "add"), ("F3", "cat"), ("F2", "mul")])]
    for config in configs:
        assert temporal.cost(config) == old.cost(config)
        for t in (1, 2, 3):
            scope = f"frame[{t}]"
            assert temporal.cost_model(scope=scope)(config) == old.cost_model(scope=scope)(config)


@pytest.mark.parametrize("frames_", [1, 2, 4])
def test_other_numbers_of_frames_compile_and_share_frame_1s_weights(temporal, frames_):
    space = archc.load(TEMPORAL, defines={"T": frames_})
    inputs = [f"image[{t}]" for t in range(1, frames_ + 1)]
    assert list(facts(space.graph).inputs) == [*inputs, "key_heatmaps"]
    assert list(facts(space.graph).outputs) == [f"heatmaps[{t}]" for t in range(1, frames_ + 1)]
    assert len(space.choices) == 32 * frames_
    weights = {space.graph.nodes[n]["ir"].weight_name for n in space.graph.nodes}
    three = {temporal.graph.nodes[n]["ir"].weight_name for n in temporal.graph.nodes}
    shared = {w for w in weights if w.startswith("frame[")}
    assert shared == {w for w in three if w.startswith("frame[")}  # frame[1]'s, for any T
    scopes = [c.scope for c in space.constraints]
    assert scopes == [None] + [f"frame[{t}]" for t in range(1, frames_ + 1)]


def test_a_define_with_the_wrong_type_or_name_is_a_located_error(capsys):
    assert cli.main(["info", str(TEMPORAL), "-D", 'T="four"']) == 1
    err = capsys.readouterr().err
    assert err.startswith('-D T:1:1: error[E027]: `-D T`: `T` is an int in the file, got str "fo')
    assert "vipnas_temporal.arch:64:1: note: `T` is declared here" in err
    assert cli.main(["check", str(TEMPORAL), "-D", "FRAMES=4"]) == 1
    err = capsys.readouterr().err
    assert "-D FRAMES:1:1: error[E028]: `-D FRAMES`: `" in err
    assert "declares no constant `FRAMES`" in err
