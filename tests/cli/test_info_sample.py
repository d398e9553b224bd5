"""`archc info` and `archc sample`: JSON keys, exactness, limits and their errors."""

from __future__ import annotations

import json

import pytest

import archc
from archc.cli import main as cli
from archc.compiler.space import Config
from tests.example_spaces import ROOT, space_params

SPACE = """import std
space m {
    input image: [3, 64, 48]
    let w = choice(8, 16)
    let d = choice(1..2)
    output h = image -> conv(w, k=3, stride=2) -> repeat(d) as b { i => conv(w) } -> deconv(8)
    constraint params <= 1M
}
"""


@pytest.fixture
def space_file(tmp_path, monkeypatch):
    (tmp_path / "m.arch").write_text(SPACE)
    monkeypatch.chdir(tmp_path)
    return "m.arch"


def run_json(capsys, *argv):
    assert cli.main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


def conv(cin, cout, k=1):
    return cout * cin * k * k


def test_info_json_of_a_space(space_file, capsys):
    r = run_json(capsys, "info", space_file, "--json")
    assert (r["name"], r["num_choices"], r["size"], r["range_exact"]) == ("m", 2, "4", True)
    small = conv(3, 8, 3) + conv(8, 8) + 8 * 8 * 16
    large = conv(3, 16, 3) + 2 * conv(16, 16) + 16 * 8 * 16
    assert r["params_range"] == [small, large]
    assert "params" not in r  # no config given


def test_info_with_a_config_reports_its_cost_and_stages(space_file, capsys, tmp_path):
    Config({"w": 16, "d": 2}, "m").save(tmp_path / "c.json")
    r = run_json(capsys, "info", space_file, "--config", "c.json", "--json")
    assert r["params"] == conv(3, 16, 3) + 2 * conv(16, 16) + 16 * 8 * 16
    assert {s["stage"] for s in r["stages"]} == {"(top)", "b[0]", "b[1]"}
    assert sum(s["params"] for s in r["stages"]) == r["params"]
    hrnet = run_json(capsys, "info", space_file, "--largest", "--json", "--convention", "hrnet")
    assert hrnet["macs"] == r["macs"] + 3 * 16 * 8 * 16 * 32 * 24


def test_info_rejects_a_config_of_another_shape(space_file, capsys, tmp_path):
    Config({"w": 12, "dd": 1}, "m").save(tmp_path / "bad.json")
    assert cli.main(["info", space_file, "--config", "bad.json"]) == 1
    err = capsys.readouterr().err
    assert "unknown choice `dd`; did you mean `d`?" in err
    assert "`w` = 12 is not a candidate" in err and "missing choice `d`" in err


def test_sample_respects_limits_and_prints_loadable_configs(space_file, capsys, tmp_path):
    limit = conv(3, 16, 3) + conv(16, 16) + 16 * 8 * 16  # excludes w=16, d=2
    assert cli.main(["sample", space_file, "--n", "5", "--max-params", str(limit)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 5
    for line in lines:
        config = Config.from_json(line)
        assert not (config["w"] == 16 and config["d"] == 2)


def test_sample_with_impossible_limits_fails_clearly(space_file, capsys):
    assert cli.main(["sample", space_file, "--max-macs", "1K"]) == 1
    assert capsys.readouterr().err.startswith(
        "archc: no config of `m` has MACs <= 1,000 (--max-macs); the smallest possible is "
    )


def test_sample_rejects_a_duration(space_file, capsys):
    with pytest.raises(SystemExit):
        cli.main(["sample", space_file, "--max-macs", "30ms"])
    assert "is a duration" in capsys.readouterr().err


@pytest.mark.parametrize("path", space_params())
def test_sample_every_example_space_under_a_tight_mac_budget(path, capsys):
    """A budget a tenth of the way up the space's MAC range (from the smallest config's
    MACs where the range is only a bound): uniform draws rarely meet it in the larger
    spaces, repair walks do; every config printed meets it and the file's constraints."""
    space = archc.load(path)
    rng = space.cost_range()
    low = rng.macs[0] if rng.macs_exact else space.cost(space.smallest()).macs
    budget = int(low + (rng.macs[1] - low) / 10)
    assert cli.main(["sample", str(path), "--max-macs", str(budget), "--n", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    for line in lines:
        config = space.validate(json.loads(line)["choices"])
        assert space.cost(config).macs <= budget
        assert space.violations(config) == []


def test_sample_says_when_no_walk_meets_the_limits(capsys):
    """posenfs_mobilenet's printed MAC range is a bound (102M) below its real minimum
    (228M, every beta at the same scale): a 150M budget passes the early feasibility
    check, and sampling then fails with a clear line instead of looping."""
    path = ROOT / "examples" / "spaces" / "posenfs_mobilenet.arch"
    assert cli.main(["sample", str(path), "--max-macs", "150M"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(
        "archc: found only 0 of 1 configs within the limits (50 uniform "
        "draws and 10 repair walks of up to 3,000 mutations per config)"
    )
