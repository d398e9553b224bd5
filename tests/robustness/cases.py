"""The hostile-input corpus as cases: what to run, and what a clean answer is.

A case runs one `archc` command in-process on one hostile input (a corpus file, or
a data set, weights file, folder or command line the harness makes) and is
*clean* when: the exit code is the documented one (2 for a bad command line, 1
for a bad input), no traceback and no "internal error" is printed, the first
line of the error names the file (or the flag), nothing is written, and it ends
within `LIMIT_S` (a runaway is stopped by an alarm). `report.py` tabulates them.

Self-contained on purpose (only `archc.cli.main` and the test fixtures' data
maker): the report can run it against an older archc to count "before".
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CORPUS = HERE / "corpus"
NET = str(ROOT / "examples/nets/tiny.arch")
SPACE = str(ROOT / "examples/spaces/mobile_small.arch")
LIMIT_S = 20  # a case running longer is stopped and counted not clean
SLOW_S = 2  # reported, the goal per case


@dataclass
class Case:
    category: str
    name: str
    argv: Callable[[Path], list[str]]  # work folder -> command line
    expect: int = 1
    names: Callable[[Path], str] | None = None  # what the first error line must name
    setup: Callable[[Path], None] | None = None
    missing: str | None = None  # a package made unimportable for the run
    writes: tuple[str, ...] = ("out",)  # work-relative paths that must stay absent

    @property
    def id(self) -> str:
        return f"{self.category}/{self.name}"


@dataclass
class Outcome:
    code: int
    seconds: float
    stderr: str
    problems: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.problems


def run_case(case: Case, work: Path) -> Outcome:
    """Run `case` in `work` (a fresh folder) and judge it."""
    from archc.cli.main import main

    if case.setup is not None:
        case.setup(work)
    err, start = io.StringIO(), time.perf_counter()
    quiet = contextlib.redirect_stdout(io.StringIO())
    with _missing(case.missing), _alarm(LIMIT_S), contextlib.redirect_stderr(err), quiet:
        try:
            code = main(case.argv(work))
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 2
        except TimeoutError:
            code = -1
    outcome = Outcome(code, time.perf_counter() - start, err.getvalue())
    outcome.problems = _judge(case, outcome, work)
    return outcome


def _judge(case: Case, outcome: Outcome, work: Path) -> list[str]:
    problems = []
    if outcome.code == -1:
        return [f"ran past {LIMIT_S} s"]
    if outcome.code != case.expect:
        problems.append(f"exit {outcome.code}, expected {case.expect}")
    if "Traceback" in outcome.stderr:
        problems.append("traceback")
    if "internal error" in outcome.stderr:
        problems.append("internal error")
    first = outcome.stderr.strip().splitlines()[0] if outcome.stderr.strip() else ""
    # argparse prints its usage first: the flag is then in its last line
    named = outcome.stderr if case.expect == 2 else first
    if case.expect != 0 and case.names is not None and case.names(work) not in named:
        problems.append(f"the error does not name {case.names(work)!r}")
    written = [p for p in case.writes if (work / p).exists()] if case.expect != 0 else []
    if written:
        problems.append(f"wrote {', '.join(written)}")
    return problems


@contextlib.contextmanager
def _missing(name: str | None):
    if name is None:
        yield
        return
    saved = {k: v for k, v in sys.modules.items() if k == name or k.startswith(f"{name}.")}
    for k in saved:
        del sys.modules[k]
    sys.modules[name] = None
    try:
        yield
    finally:
        del sys.modules[name]
        sys.modules.update(saved)


@contextlib.contextmanager
def _alarm(seconds: int):
    def stop(signum, frame):
        raise TimeoutError

    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


# ---- the cases


def arch_cases() -> list[Case]:
    cases = []
    for path in sorted((CORPUS / "arch").glob("*.arch")):
        expects = _expectations(path)
        for command in ("check", "info", "compile"):
            expect = expects.get(command, expects["all"])
            out = command == "compile"
            cases.append(
                Case(
                    f"arch-{path.stem.split('_')[0]}",
                    f"{path.stem}:{command}",
                    lambda w, c=command, p=path, o=out: (
                        [c, str(p)] + (["-o", str(w / "out")] if o else [])
                    ),
                    expect=expect,
                    names=lambda work, p=path: p.name,
                )
            )
    return cases


def _expectations(path: Path) -> dict[str, int]:
    """`# expect: exit 1` (every command), or `# expect: exit 1; check: exit 0`."""
    head = path.read_text(encoding="utf-8", errors="replace").splitlines()[:1]
    if not head or "# expect:" not in head[0]:
        return {"all": 0}
    out = {}
    for part in head[0].split("# expect:")[1].split(";"):
        key, _, code = part.strip().rpartition("exit")
        out[key.strip(" :") or "all"] = int(code)
    return out


def config_cases() -> list[Case]:
    files = sorted((CORPUS / "configs").glob("*.json"))
    generated = {
        "deep_nesting": "[" * 100_000 + "]" * 100_000,
        "deep_object": '{"a":' * 50_000 + "1" + "}" * 50_000,
    }
    cases = []
    for stem in [p.stem for p in files] + list(generated):

        def config(work: Path, stem=stem) -> str:
            return (
                str(work / f"{stem}.json")
                if stem in generated
                else str(CORPUS / f"configs/{stem}.json")
            )

        def setup(work: Path, stem=stem) -> None:
            if stem in generated:
                (work / f"{stem}.json").write_text(generated[stem])

        for command, out in (("info", False), ("export", True), ("viz", True)):
            cases.append(
                Case(
                    "configs",
                    f"{stem}:{command}",
                    lambda w, c=command, o=out, f=config: [
                        *(c, SPACE, "--config", f(w)),
                        *(["-o", str(w / "out")] if o else []),
                    ],
                    names=lambda work, stem=stem: f"{stem}.json",
                    setup=setup,
                )
            )
    return cases


def _coco(work: Path, change: Callable[[dict], None]) -> None:
    from tests.runtime.train.train_fixtures import make_data, write_net

    make_data(work / "data")
    write_net(work, name="micro.arch")
    path = work / "data/annotations/person_keypoints_train.json"
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc))


def _person(doc: dict) -> dict:
    return next(a for a in doc["annotations"] if not a.get("iscrowd"))


DATA_FAULTS: dict[str, Callable[[dict], None]] = {
    "string_image_id": lambda d: d["images"][0].update(id="a7"),
    "duplicate_image_id": lambda d: d["images"][1].update(id=d["images"][0]["id"]),
    "nan_keypoint": lambda d: _person(d)["keypoints"].__setitem__(0, math.nan),
    "inf_keypoint": lambda d: _person(d)["keypoints"].__setitem__(0, math.inf),
    "string_keypoint": lambda d: _person(d)["keypoints"].__setitem__(1, "12"),
    "visibility_3": lambda d: _person(d)["keypoints"].__setitem__(2, 3),
    "nan_box": lambda d: _person(d)["bbox"].__setitem__(2, math.nan),
    "negative_box": lambda d: _person(d)["bbox"].__setitem__(3, -4.0),
    "keypoint_count": lambda d: _person(d).update(keypoints=[1.0] * 10),
    "missing_image": lambda d: d["images"][0].update(file_name="gone.jpg"),
    "path_outside": lambda d: d["images"][0].update(file_name="../../../outside.jpg"),
    "absolute_path": lambda d: d["images"][0].update(file_name="/etc/hostname"),
    "other_size": lambda d: d["images"][0].update(width=999),
    "unknown_image": lambda d: _person(d).update(image_id=123456),
    "category_disagrees": lambda d: d["categories"][0].update(keypoints=["nose", "eye"]),
    "not_a_list": lambda d: d.update(annotations={"a": 1}),
}


def data_cases() -> list[Case]:
    cases = []
    for name, change in DATA_FAULTS.items():
        setup = lambda work, change=change: _coco(work, change)  # noqa: E731
        cases.append(
            Case(
                "data",
                f"{name}:check",
                lambda w: ["data", "check", str(w / "data")],
                setup=setup,
                names=lambda w: "person_keypoints_train.json",
            )
        )
        train = ["--data", "data", "--out", "out", "--epochs", "1", "--workers", "0"]
        cases.append(
            Case(
                "data",
                f"{name}:train",
                lambda w, t=train: [
                    "train",
                    str(w / "micro.arch"),
                    *[str(w / a) if a in ("data", "out") else a for a in t],
                ],
                setup=setup,
                names=lambda w: "person_keypoints_train.json",
            )
        )
    return cases


def _weights(work: Path, kind: str) -> None:
    import torch
    from safetensors.torch import save_file

    import archc
    from archc.torch import build_module

    state = build_module(archc.load(NET)).state_dict()
    path = work / "w.safetensors"
    if kind == "nan":
        save_file(
            {
                k: v.float().fill_(math.nan) if v.is_floating_point() else v
                for k, v in state.items()
            },
            path,
        )
    elif kind == "inf":
        save_file(
            {
                k: v.float().fill_(math.inf) if v.is_floating_point() else v
                for k, v in state.items()
            },
            path,
        )
    elif kind == "int":
        save_file({k: v.to(torch.int64) for k, v in state.items()}, path)
    elif kind == "pickle":
        torch.save(state, path)
    elif kind == "legacy_pickle":
        torch.save(state, path, _use_new_zipfile_serialization=False)
    elif kind == "truncated":
        save_file(state, path)
        path.write_bytes(path.read_bytes()[:100])
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "garbage":
        path.write_bytes(bytes(range(256)) * 4)
    elif kind == "other_space":
        save_file({"net.other.weight": torch.zeros(3)}, path)
    elif kind == "folder":
        path.mkdir()


WEIGHT_KINDS = (
    "nan",
    "inf",
    "int",
    "pickle",
    "legacy_pickle",
    "truncated",
    "empty",
    "garbage",
    "other_space",
    "folder",
)


def weights_cases() -> list[Case]:
    return [
        Case(
            "weights",
            kind,
            lambda w: ["export", NET, "--weights", str(w / "w.safetensors"), "-o", str(w / "out")],
            setup=lambda w, k=kind: _weights(w, k),
            names=lambda w: "w.safetensors",
        )
        for kind in WEIGHT_KINDS
    ]


def _files_setup(work: Path) -> None:
    (work / "afile").write_text("x")
    (work / "folder.arch").mkdir()
    (work / "loop.arch").symlink_to(work / "loop.arch")
    (work / "dangling.arch").symlink_to(work / "nowhere.arch")


FILES = {
    "missing_source": (lambda w: ["check", str(w / "missing.arch")], "missing.arch"),
    "folder_as_source": (lambda w: ["check", str(w / "folder.arch")], "folder.arch"),
    "symlink_loop": (lambda w: ["check", str(w / "loop.arch")], "loop.arch"),
    "dangling_link_fmt": (lambda w: ["fmt", "--write", str(w / "dangling.arch")], "dangling.arch"),
    "output_through_a_file": (lambda w: ["compile", NET, "-o", str(w / "afile/out")], "afile"),
    "output_in_missing_folder": (
        lambda w: ["export", NET, "-o", str(w / "no/such/out")],
        "no/such",
    ),
    "config_is_a_folder": (
        lambda w: ["info", SPACE, "--config", str(w / "folder.arch")],
        "folder.arch",
    ),
    "weights_missing": (
        lambda w: ["export", NET, "--weights", str(w / "none.st"), "-o", str(w / "out")],
        "none.st",
    ),
    "data_is_a_file": (lambda w: ["data", "check", str(w / "afile")], "afile"),
    "synth_into_a_file": (
        lambda w: ["data", "synth", str(w / "afile"), "--train", "1", "--val", "1"],
        "afile",
    ),
}


def files_cases() -> list[Case]:
    return [
        Case("files", name, argv, setup=_files_setup, names=lambda w, n=named: n)
        for name, (argv, named) in FILES.items()
    ]


# bad values of numeric options, each exit 2 (argparse or a check after parsing)
COMMAND_LINES = {
    "viz --depth 0": ["viz", NET, "--depth", "0", "-o", "out.svg"],
    "sample --n 0": ["sample", SPACE, "--n", "0"],
    "latency --threads 0": ["latency", NET, "--threads", "0"],
    "latency --runs 0": ["latency", NET, "--runs", "0"],
    "latency --batch 0": ["latency", NET, "--batch", "0"],
    "lut --runs 0": ["lut", NET, "--runs", "0", "-o", "lut.json"],
    "lut --calibrate 1": ["lut", SPACE, "--calibrate", "1", "-o", "lut.json"],
    "export --opset 3": ["export", NET, "--opset", "3", "-o", "m.onnx"],
    "export --tolerance -1": ["export", NET, "--tolerance", "-1", "-o", "m.onnx"],
    "export --opset x": ["export", NET, "--opset", "x", "-o", "m.onnx"],
    "data synth --size 10x10": ["data", "synth", "out", "--size", "10x10"],
    "data synth --train -1": ["data", "synth", "out", "--train", "-1"],
    "data synth --video 1": ["data", "synth", "out", "--video", "1"],
    "data synth --workers 0": ["data", "synth", "out", "--workers", "0"],
    "train --epochs 0": ["train", NET, "--data", "d", "--out", "run", "--epochs", "0"],
    "train --batch 0": ["train", NET, "--data", "d", "--out", "run", "--batch", "0"],
    "train --lr 0": ["train", NET, "--data", "d", "--out", "run", "--lr", "0"],
    "train --lr nan": ["train", NET, "--data", "d", "--out", "run", "--lr", "nan"],
    "eval --batch 0": ["eval", NET, "--weights", "w", "--data", "d", "--batch", "0"],
    "supernet train --random -1": [
        *("supernet", "train", SPACE, "--data", "d", "--out", "run", "--random", "-1"),
    ],
    "search --evaluations 0": [
        *("search", SPACE, "--supernet", "s", "--data", "d", "--out", "o", "--evaluations", "0"),
    ],
}


def command_line_cases() -> list[Case]:
    return [
        Case(
            "command-line",
            name.replace(" ", "_"),
            lambda w, a=argv: a,
            expect=2,
            names=lambda w, n=name: n.split()[-2],
            writes=("out", "run", "o", "m.onnx", "lut.json", "out.svg"),
        )
        for name, argv in COMMAND_LINES.items()
    ]


MISSING = {
    "train-pycocotools": (["train", NET, "--data", "d", "--out", "out"], "pycocotools"),
    "train-safetensors": (["train", NET, "--data", "d", "--out", "out"], "safetensors"),
    "eval-pycocotools": (["eval", NET, "--weights", "w", "--data", "d"], "pycocotools"),
    "export-onnx": (["export", NET, "-o", "out"], "onnx"),
    "export-onnxruntime": (["export", NET, "-o", "out"], "onnxruntime"),
    "latency-onnxruntime": (["latency", NET], "onnxruntime"),
    "lut-onnx": (["lut", NET, "-o", "out"], "onnx"),
    "search-matplotlib": (
        ["search", SPACE, "--data", "d", "--out", "out", "--strategy", "darts"],
        "matplotlib",
    ),
    "search-pymoo": (
        ["search", SPACE, "--supernet", "s", "--data", "d", "--out", "out", "--strategy", "nsga2"],
        "pymoo",
    ),
    "synth-PIL": (["data", "synth", "out"], "PIL"),
    "lsp-pygls": (["lsp"], "pygls"),
}


def missing_cases() -> list[Case]:
    return [
        Case(
            "optional-deps",
            name,
            lambda w, a=argv: [str(w / x) if x == "out" else x for x in a],
            missing=package,
            names=lambda w, p=package: p,
        )
        for name, (argv, package) in MISSING.items()
    ]


def all_cases() -> list[Case]:
    return [
        *arch_cases(),
        *config_cases(),
        *data_cases(),
        *weights_cases(),
        *files_cases(),
        *command_line_cases(),
        *missing_cases(),
    ]
