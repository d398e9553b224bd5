"""int8 deployment: the calibrated, mixed-precision export, the deployed model
evaluated through onnxruntime, int8 latency tables, and every bad input."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest

pytest.importorskip("onnxruntime")

import archc
from archc.cli import main as cli
from archc.compiler.backends.onnx.quantize import (
    QuantizeError,
    QuantizeOptions,
    check_int8_kernels,
    fp32_node_names,
    quantize,
)
from archc.compiler.backends.onnx.runner import Timing, session
from archc.compiler.cost.latency_table import LatencyTable, LatencyTableError
from archc.runtime.deploy import int8 as deploy
from archc.runtime.deploy.mixed import alone, unit_class
from archc.runtime.deploy.onnx_pose import OnnxModelError, read_archc_onnx
from tests.example_spaces import ROOT
from tests.runtime.train.train_fixtures import MPII_NET, write_net

ARGMAX_AGREEMENT = 0.9  # of distinct heatmap peaks, int8 against float32, within 1 cell
STEPS = 4  # a peak is distinct when it leads its rivals by this many output int8 steps


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    """Generated data (32 train / 8 val images), the micro net trained on it for a
    few epochs, and its float32 export."""
    root = tmp_path_factory.mktemp("int8")
    data = root / "data"
    synth = ["data", "synth", str(data), "--train", "32", "--val", "8", "--size", "96x64"]
    assert cli.main([*synth, "--profile", "quick", "--workers", "1"]) == 0
    net = write_net(root / "nets")
    run = _train(net, data, root / "run", 4)
    fp32 = root / "micro.onnx"
    weights = str(run / "best.safetensors")
    assert cli.main(["export", str(net), "-o", str(fp32), "--weights", weights]) == 0
    return {"root": root, "data": data, "net": net, "run": run, "fp32": fp32}


def _train(net, data, out, epochs: int, *extra: str):
    args = ["train", str(net), "--data", str(data), "--out", str(out), "--epochs", str(epochs)]
    common = ["--workers", "0", "--threads", "2", "--batch", "8", "--lr", "3e-3"]
    assert cli.main([*args, *common, *extra]) == 0
    return out


def _argmax_agreement(a: np.ndarray, b: np.ndarray) -> tuple[float, int]:
    """(fraction, count) of the joints with a distinct float32 peak whose int8 argmax
    is at most one cell away. A peak is distinct when it stands above every cell
    outside its 3 x 3 neighbourhood by more than `STEPS` output quantization steps:
    closer rivals may trade places under int8's rounding of the output alone."""
    n, k, h, w = a.shape
    flat_a, flat_b = a.reshape(n, k, -1), b.reshape(n, k, -1)
    ia, ib = flat_a.argmax(-1), flat_b.argmax(-1)
    near = (np.abs(ia // w - ib // w) <= 1) & (np.abs(ia % w - ib % w) <= 1)
    rows, cols = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    step = (a.max() - a.min()) / 255
    rivals = flat_a.copy()
    around = (np.abs(rows.reshape(-1) - (ia // w)[..., None]) <= 1) & (
        np.abs(cols.reshape(-1) - (ia % w)[..., None]) <= 1
    )
    rivals[around] = -np.inf
    distinct = flat_a.max(-1) - rivals.max(-1) > STEPS * step
    return float(near[distinct].mean()) if distinct.any() else 0.0, int(distinct.sum())


@pytest.mark.parametrize("name", ["tiny", pytest.param("mobile_small", marks=pytest.mark.slow)])
def test_int8_agrees_with_fp32_on_heatmap_argmax(name, work, tmp_path):
    """tiny and mobile_small's smallest subnet at 64 x 48, fitted to the training
    crops (sharp peaks) and calibrated on them, find the same peaks in int8."""
    folder = "nets" if name == "tiny" else "spaces"
    text = (ROOT / f"examples/{folder}/{name}.arch").read_text()
    net = tmp_path / f"{name}.arch"
    net.write_text(text.replace("[3, 256, 192]", "[3, 64, 48]"))
    space = archc.load(net)
    pick = ["--smallest"] if space.choices else []
    run = _train(net, work["data"], tmp_path / "run", 20, "--no-augment", *pick)
    out = tmp_path / "m.onnx"
    weights = str(run / "last.safetensors")
    assert cli.main(["export", str(net), "-o", str(out), "--weights", weights, *pick]) == 0
    exp = read_archc_onnx(out)
    feeds, crops = deploy.calibration_feeds(work["data"], exp.geometry, exp.input_name, 16)
    assert crops == 16
    int8 = quantize(exp.data, feeds)
    x = {exp.input_name: np.concatenate([f[exp.input_name] for f in feeds])}
    (a,), (b,) = session(exp.data).run(None, x), session(int8).run(None, x)
    agreement, joints = _argmax_agreement(a, b)
    print(f"{name}: {joints} distinct peaks, {agreement:.3f} agree")
    assert joints >= 8 and agreement >= ARGMAX_AGREEMENT
    assert read_archc_onnx_bytes(int8, tmp_path).precision == "int8"


def read_archc_onnx_bytes(data: bytes, folder):
    path = folder / "q.onnx"
    path.write_bytes(data)
    return read_archc_onnx(path)


def test_eval_onnx_of_the_fp32_export_equals_the_torch_evaluation(work, tmp_path, capsys):
    """The same numbers and the same predicted keypoints, through onnxruntime."""
    common = ["--data", str(work["data"]), "--json", "--threads", "1"]
    onnx_json, torch_json = tmp_path / "onnx.json", tmp_path / "torch.json"
    assert (
        cli.main(["eval", "--onnx", str(work["fp32"]), *common, "--results", str(onnx_json)]) == 0
    )
    onnx_stats = json.loads(capsys.readouterr().out)
    weights = str(work["run"] / "best.safetensors")
    torch_eval = ["eval", str(work["net"]), "--weights", weights, "--workers", "0"]
    assert cli.main([*torch_eval, *common, "--results", str(torch_json)]) == 0
    assert onnx_stats == json.loads(capsys.readouterr().out)
    ours, theirs = (json.loads(p.read_text()) for p in (onnx_json, torch_json))
    assert len(ours) == len(theirs) > 0
    for a, b in zip(ours, theirs, strict=True):
        assert a["image_id"] == b["image_id"]
        assert np.allclose(a["keypoints"], b["keypoints"], atol=1e-3)


def test_export_quantize_writes_both_models_and_the_report(work, tmp_path, capsys):
    out = tmp_path / "m.onnx"
    weights = str(work["run"] / "best.safetensors")
    args = ["export", str(work["net"]), "-o", str(out), "--weights", weights]
    data = str(work["data"])
    int8 = ["--quantize", "int8", "--calibrate", data, "--calibration-images", "8", "--runs", "5"]
    assert cli.main([*args, *int8, "--data", data]) == 0
    printed = capsys.readouterr().out
    assert out.exists() and "units quantized, calibrated on 8 crops" in printed
    assert "AP float32:" in printed
    doc = json.loads(out.with_name("m.int8.json").read_text())
    assert {u["precision"] for u in doc["units"]} <= {"int8", "float32"}
    assert all(u["why"] for u in doc["units"] if u["precision"] == "float32")
    written = out.with_name("m.int8.onnx")
    # never slower: the int8 file exists exactly when it measured faster
    faster = doc["latency_ms"]["int8"] < doc["latency_ms"]["float32"]
    assert written.exists() == faster == (doc["int8_file"] is not None)
    if faster:
        assert "AP int8:" in printed and read_archc_onnx(written).precision == "int8"


def test_no_int8_file_when_int8_is_slower(work, tmp_path, monkeypatch):
    """The mixed model is timed against float32 and refused when not faster."""
    exp = read_archc_onnx(work["fp32"])
    graph = archc.load(work["net"]).graph
    units = deploy.unit_timings(graph, 1, 3)
    feeds, _ = deploy.calibration_feeds(work["data"], exp.geometry, exp.input_name, 8)
    times = iter([1.0, 2.0])  # float32, then int8
    monkeypatch.setattr(deploy, "refine", lambda fp32, units, *a, **k: alone(units))
    monkeypatch.setattr(deploy, "ort_latency", lambda *a, **k: Timing(next(times), 0, 1))
    report = deploy.deploy_int8(exp.data, tmp_path / "m.onnx", feeds, units)
    assert report.path is None and not (tmp_path / "m.int8.onnx").exists()
    assert json.loads((tmp_path / "m.int8.json").read_text())["int8_file"] is None


def test_units_kept_fp32_are_named_by_their_onnx_nodes(work):
    exp = read_archc_onnx(work["fp32"])
    names = fp32_node_names(exp.data, ["conv", "bn"])
    assert names and all(n.rpartition(":")[0] in {"conv", "bn"} for n in names)
    int8 = quantize(exp.data, deploy.calibration_feeds(work["data"], exp.geometry, "image", 8)[0],
                    keep_fp32=names)  # fmt: skip
    kept = [n for n in onnx.load_from_string(int8).graph.node if n.name in names]
    assert any(n.op_type == "Conv" for n in kept)  # still a float32 Conv


def test_unit_classes():
    conv = ["conv", {"k": 3, "groups": 32}, [[32, 8, 8]]]
    assert unit_class([conv, ["bn", {}, [[32, 8, 8]]]]) == "conv+bn 3x3 depthwise"
    assert unit_class([["conv", {"k": 5, "groups": 4}, [[32, 8, 8]]]]) == "conv 5x5 grouped"
    assert unit_class([["conv", {"k": 1, "groups": 1}, [[32, 8, 8]]]]) == "conv 1x1"
    assert unit_class([["add", {}, [[4, 2, 2], [4, 2, 2]]]]) == "add"


def test_int8_latency_table_round_trips_and_keeps_fp32_where_int8_loses(work, tmp_path, capsys):
    table_path = tmp_path / "lut8.json"
    assert cli.main(["lut", str(work["net"]), "-o", str(table_path), "--quantize", "int8",
                     "--runs", "3"]) == 0  # fmt: skip
    assert "int8 is faster than float32 for" in capsys.readouterr().out
    table = LatencyTable.load(table_path)
    assert table.precision == "int8" and set(table.pairs) == set(table.entries)
    for key, (fp32, int8) in table.pairs.items():
        assert table.entries[key] == min(fp32, int8)
        assert table.keeps_fp32(key) == (not int8 < fp32)
    # the export reads it instead of measuring the units again
    graph = archc.load(work["net"]).graph
    units = deploy.unit_timings(graph, 1, 3, table)
    assert all([u.fp32_ms, u.int8_ms] in table.pairs.values() for u in units)
    # an fp32 table is not an int8 one, in either direction
    fp32_path = tmp_path / "lut.json"
    assert cli.main(["lut", str(work["net"]), "-o", str(fp32_path), "--runs", "3"]) == 0
    with pytest.raises(QuantizeError, match="int8 table"):
        deploy.check_table(LatencyTable.load(fp32_path), 1)
    assert cli.main(["lut", str(work["net"]), "-o", str(fp32_path), "--quantize", "int8"]) == 1
    assert "holds fp32 latencies" in capsys.readouterr().err
    with pytest.raises(QuantizeError, match="measure it here"):
        deploy.check_table(table, 2)


def test_a_table_of_unknown_precision_is_refused(tmp_path):
    path = tmp_path / "t.json"
    LatencyTable({"cpu": "x"}, 1, precision="int4").save(path)
    with pytest.raises(LatencyTableError, match="unknown precision 'int4'"):
        LatencyTable.load(path)


def test_bad_calibration_data_is_one_line_and_keeps_fp32(work, tmp_path, capsys):
    out = tmp_path / "m.onnx"
    base = ["export", str(work["net"]), "-o", str(out), "--quantize", "int8"]
    assert cli.main([*base, "--calibrate", str(work["data"]), "--calibration-images", "4"]) == 1
    err = capsys.readouterr().err
    assert "needs at least 8 crops" in err and "is kept" in err and len(err.splitlines()) == 1
    assert out.exists() and not out.with_name("m.int8.onnx").exists()
    assert cli.main([*base, "--calibrate", str(tmp_path / "nowhere")]) == 1
    assert "calibration data" in capsys.readouterr().err
    calibrated = [*base, "--calibrate", str(work["data"]), "--calibration-images", "8"]
    assert cli.main([*calibrated, "--runs", "3", "--data", str(tmp_path / "nowhere")]) == 1
    err = capsys.readouterr().err
    assert "evaluation on --data failed" in err and len(err.strip().splitlines()) == 1
    mpii = write_net(tmp_path / "nets", MPII_NET, "mpii16.arch")  # 16 joints, COCO data
    assert cli.main(["export", str(mpii), "-o", str(tmp_path / "p.onnx"), "--quantize", "int8",
                     "--calibrate", str(work["data"])]) == 1  # fmt: skip
    assert "keypoint" in capsys.readouterr().err


def test_flag_combinations_are_usage_errors(work, tmp_path, capsys):
    base = ["export", str(work["net"]), "-o", str(tmp_path / "m.onnx")]
    assert cli.main([*base, "--calibrate", str(work["data"])]) == 2
    assert "only apply with --quantize int8" in capsys.readouterr().err
    assert cli.main([*base, "--quantize", "int8"]) == 2
    assert "needs --calibrate" in capsys.readouterr().err
    assert not (tmp_path / "m.onnx").exists()
    assert cli.main(["eval", "--data", str(work["data"])]) == 2
    assert cli.main(["eval", str(work["net"]), "--onnx", str(work["fp32"]), "--data", "d"]) == 2


def test_a_machine_without_int8_kernels_keeps_fp32_with_a_warning(
    work, tmp_path, monkeypatch, capsys
):
    from archc.compiler.backends.onnx import quantize as q

    def broken():
        raise QuantizeError("onnxruntime 0 on this machine cannot run int8 models (x)")

    monkeypatch.setattr(q, "check_int8_kernels", broken)
    out = tmp_path / "m.onnx"
    args = ["export", str(work["net"]), "-o", str(out), "--quantize", "int8"]
    assert cli.main([*args, "--calibrate", str(work["data"])]) == 0
    err = capsys.readouterr().err
    assert "cannot run int8 models" in err and "only the float32 model was written" in err
    assert out.exists() and not out.with_name("m.int8.onnx").exists()
    check_int8_kernels()  # the real one: this machine has them


def test_eval_onnx_refuses_what_is_not_an_archc_pose_export(work, tmp_path, capsys):
    data = str(work["data"])
    garbage = tmp_path / "g.onnx"
    garbage.write_bytes(b"not a model")
    foreign = tmp_path / "f.onnx"
    model = onnx.load(work["fp32"])
    model.producer_name = "pytorch"
    onnx.save(model, foreign)
    cases = {
        garbage: "not an ONNX model",
        foreign: "not an archc export (produced by 'pytorch')",
        tmp_path / "missing.onnx": "no such file",
        tmp_path: "is a folder",
    }
    for path, message in cases.items():
        assert cli.main(["eval", "--onnx", str(path), "--data", data]) == 1
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1
    with pytest.raises(OnnxModelError, match="not an archc export"):
        read_archc_onnx(foreign)


def test_options_are_checked():
    with pytest.raises(QuantizeError, match="unknown calibration method 'kl'"):
        QuantizeOptions("kl")
    assert deploy.int8_path("a/model.onnx").as_posix() == "a/model.int8.onnx"


def test_the_python_api(work, tmp_path):
    import archc.onnx

    out = tmp_path / "m.onnx"
    weights = work["run"] / "best.safetensors"
    archc.onnx.export(work["net"], out, weights=weights)
    report = archc.onnx.quantize_int8(work["net"], out, work["data"], images=8, runs=3)
    assert report.calibration_crops == 8 and len(report.units) == len(report.decisions)
    assert (report.path is not None) == (report.int8.median_ms < report.fp32.median_ms)
    stats = archc.onnx.evaluate(out, work["data"])
    assert set(stats) >= {"AP", "AP50", "AR"}
    with pytest.raises(QuantizeError, match="at least 8 crops"):
        archc.onnx.quantize_int8(work["net"], out, work["data"], images=2)


def test_a_temporal_export_is_refused_in_one_line(work, tmp_path, capsys):
    net = ROOT / "examples/spaces/tiny_temporal.arch"
    out = tmp_path / "t.onnx"
    args = ["export", str(net), "-o", str(out), "--smallest", "--quantize", "int8"]
    assert cli.main([*args, "--calibrate", str(work["data"])]) == 1
    err = capsys.readouterr().err
    assert "inputs" in err and "archc video" in err and len(err.strip().splitlines()) == 1
    assert out.exists() and not out.with_name("t.int8.onnx").exists()
