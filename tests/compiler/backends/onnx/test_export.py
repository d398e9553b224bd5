"""ONNX export: every example net and sampled subnets of every example space run in
onnxruntime as in torch; the file holds the subnet's weights only; bad requests
fail clearly and leave nothing behind."""

from __future__ import annotations

import warnings
from functools import cache
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
np = pytest.importorskip("numpy")

import archc  # noqa: E402
from archc.cli import main as cli  # noqa: E402
from archc.compiler.backends.onnx.runner import session  # noqa: E402
from archc.onnx import ExportError, export  # noqa: E402
from archc.runtime.weights import save_weights  # noqa: E402
from archc.torch import build_supernet  # noqa: E402
from tests.example_spaces import space_params  # noqa: E402

warnings.filterwarnings("ignore", message="Failed to initialize NumPy")
ROOT = Path(__file__).resolve().parents[4]
NETS = sorted((ROOT / "examples/nets").glob("*.arch"))
SPACES = sorted((ROOT / "examples/spaces").glob("*.arch"))


@cache
def load(path: Path):
    return archc.load(path)


def _check_file(path: Path, derived, params: int) -> onnx.ModelProto:
    """The floats stored are exactly the subnet's parameters plus BN statistics (and
    BN's constant scale/shift when not affine): never a supernet tensor."""
    model = onnx.load(path)
    onnx.checker.check_model(model)
    floats = sum(
        int(np.prod(t.dims))
        for t in model.graph.initializer
        if t.data_type == onnx.TensorProto.FLOAT and len(t.dims) != 0
    )
    assert floats == params + _bn_extras(derived)
    overhead = 100_000 + 500 * len(model.graph.node)  # names, attributes, graph structure
    assert 4 * floats <= path.stat().st_size < 4 * floats + overhead
    return model


def _bn_extras(derived) -> int:
    graph, extra = derived.graph, 0
    for n in graph.nodes:
        node = graph.nodes[n]["ir"]
        if node.weight_name != node.name:
            continue  # shared weights are stored once, at their owner
        if node.op == "bn":
            extra += (2 if node.attrs["affine"] else 4) * node.shape[0]
        if node.op == "scatter":
            source = graph.nodes[next(graph.predecessors(n))]["ir"]
            extra += node.attrs["channels"] * source.shape[0]
    return extra


SLOW_NETS = frozenset({"vitpose_b"})  # 90M params: 12 s in torch and onnxruntime


@pytest.mark.parametrize(
    "path",
    [pytest.param(p, id=p.stem, marks=[pytest.mark.slow] * (p.stem in SLOW_NETS)) for p in NETS],
)
def test_every_example_net_exports_and_matches_torch(path, tmp_path):
    space = load(path)
    report = export(space, tmp_path / "m.onnx")
    assert report.max_abs_diff <= 1e-4
    model = _check_file(report.path, space, space.cost().params)
    assert report.params == space.cost().params
    assert model.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"


@pytest.mark.parametrize("path", [pytest.param(p, id=p.stem) for p in SPACES])
def test_smallest_subnets_export_with_only_their_own_weights(path, tmp_path):
    _export_and_check(load(path), load(path).smallest(), tmp_path)


@pytest.mark.parametrize("path", space_params())
def test_sampled_subnets_export_with_only_their_own_weights(path, tmp_path):
    _export_and_check(load(path), load(path).sample(5), tmp_path)


def _export_and_check(space, config, tmp_path) -> None:
    report = export(space, tmp_path / "m.onnx", config)
    assert report.max_abs_diff <= 1e-4
    _check_file(report.path, space.derive(config), space.cost(config).params)


def test_batch_size_is_dynamic(tmp_path):
    space = load(next(p for p in NETS if p.stem == "efficientpose_a"))
    report = export(space, tmp_path / "m.onnx")
    sess = session(report.path.read_bytes())
    out = sess.run(None, {"image": np.zeros((3, 3, 256, 192), np.float32)})[0]
    assert out.shape == (3, 17, 64, 48)


def test_supernet_weights_are_copied_into_the_exported_subnet(tmp_path):
    space = load(next(p for p in SPACES if p.stem == "mobile_small"))
    torch.manual_seed(1)
    net = build_supernet(space).eval()
    for m in net.modules():  # non-trivial statistics, so BN export is checked too
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    save_weights(net, tmp_path / "super.safetensors")
    config = space.sample(2)
    export(space, tmp_path / "m.onnx", config, weights=tmp_path / "super.safetensors")
    x = np.random.default_rng(0).standard_normal((2, 3, 256, 192)).astype(np.float32)
    net.set_active(config)
    with torch.no_grad():
        expected = net(torch.from_numpy(x)).numpy()
    got = session((tmp_path / "m.onnx").read_bytes()).run(None, {"image": x})[0]
    assert np.abs(got - expected).max() < 1e-4


def test_a_subnets_own_weights_are_exported_as_they_are(tmp_path):
    """What `archc train --config` or a fine-tune saves: the derived module's own weights."""
    from archc.torch import build_module

    space = load(next(p for p in SPACES if p.stem == "mobile_small"))
    config = space.sample(3)
    torch.manual_seed(2)
    net = build_module(space.derive(config)).eval()
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
    save_weights(net, tmp_path / "own.safetensors")
    export(space, tmp_path / "m.onnx", config, weights=tmp_path / "own.safetensors")
    x = np.random.default_rng(1).standard_normal((1, 3, 256, 192)).astype(np.float32)
    with torch.no_grad():
        expected = net(torch.from_numpy(x)).numpy()
    got = session((tmp_path / "m.onnx").read_bytes()).run(None, {"image": x})[0]
    assert np.abs(got - expected).max() < 1e-4
    other = space.sample(4)  # another subnet's shapes: neither its own nor a supernet's
    with pytest.raises(ExportError, match="nor are they this subnet's own weights"):
        export(space, tmp_path / "n.onnx", other, weights=tmp_path / "own.safetensors")


def test_bad_requests_fail_clearly_and_write_nothing(tmp_path):
    space = load(next(p for p in SPACES if p.stem == "mobile_small"))
    out = tmp_path / "m.onnx"
    with pytest.raises(ExportError, match=r"s1\.w"):
        export(space, out, {**space.smallest(), "s1.w": 7})
    with pytest.raises(ExportError, match="no such weights file"):
        export(space, out, space.smallest(), weights=tmp_path / "missing.safetensors")
    other = load(next(p for p in SPACES if p.stem == "hrnet_branches"))
    save_weights(build_supernet(other), tmp_path / "other.safetensors")
    with pytest.raises(ExportError, match="does not fit this module"):
        export(space, out, space.smallest(), weights=tmp_path / "other.safetensors")
    with pytest.raises(ExportError, match="does not exist"):
        export(space, tmp_path / "no" / "m.onnx", space.smallest())
    with pytest.raises(ExportError, match="does not fit the space"):
        export(space, out, space.smallest(), input_shape=(1, 3, 128, 96))
    assert list(tmp_path.glob("*.onnx*")) == [] and not list(tmp_path.glob(".m.onnx*"))


def test_a_failed_comparison_writes_nothing(tmp_path, monkeypatch):
    import archc.compiler.backends.onnx.export as exporter

    monkeypatch.setattr(exporter, "_compare", lambda *a: 0.5)
    space = load(next(p for p in NETS if p.stem == "efficientpose_a"))
    with pytest.raises(ExportError, match=r"differ by 0\.5"):
        export(space, tmp_path / "m.onnx")
    assert list(tmp_path.iterdir()) == []


def test_cli_export_and_its_errors(tmp_path, capsys):
    path = str(next(p for p in SPACES if p.stem == "mobile_small"))
    out = tmp_path / "m.onnx"
    assert cli.main(["export", path, "--smallest", "-o", str(out), "--input", "2x3x256x192"]) == 0
    assert "max |diff|" in capsys.readouterr().out and out.exists()
    assert cli.main(["export", path, "-o", str(out)]) == 1
    assert "give --config, --largest or --smallest" in capsys.readouterr().err
    assert cli.main(["export", path, "--largest", "-o", str(out), "--realise", "*=fast"]) == 2
    assert "expected PATTERN=KIND" in capsys.readouterr().err
    missing = str(tmp_path / "none.safetensors")
    assert cli.main(["export", path, "--largest", "-o", str(out), "--weights", missing]) == 1
    assert "no such weights file" in capsys.readouterr().err


def test_an_input_too_large_to_run_is_refused_before_anything_is_written(tmp_path):
    from archc.cli.common import load_space

    root = Path(__file__).resolve().parents[4]
    huge = load_space(str(root / "examples/nets/tiny.arch"), ["INPUT=[3, 1000000000, 1000]"])
    with pytest.raises(ExportError, match=r"input `image` is 1x3x1000000000x1000 .*too large"):
        export(huge, tmp_path / "m.onnx")
    assert list(tmp_path.iterdir()) == []
