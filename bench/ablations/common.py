"""The harness every ablation script shares: data, the training recipe, arms, results.

An ablation compares *arms* (a net trained, or a space searched and its find trained)
over seeds, all with one recipe on the quick synthetic data at a 128x96 crop, every arm
on one CPU thread for a fixed wall-clock budget (`--budget-seconds`), two arms side by
side on the 2-core machines this is sized for. Each finished (arm, seed) is a line of
OUT/results.jsonl at once, so a killed script, run again, skips what is done and redoes
only the arm it was in. At the end the script prints (and writes to OUT/results.md) one
table per claim: mean and spread of AP over seeds, and whether the claim held.

A claim *held* when the arm it favours has the higher mean AP and every one of its seeds
beats every seed of the other (the spreads do not overlap); *not separated* when only the
means agree with it; *tied* when the means are equal; *did not hold* otherwise. With one
seed there is no spread, so a single-seed result is never more than "held on one seed".
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
from steps import ONE_CORE, RECIPE, Step, parallel  # noqa: E402  (scripts/ is not a package)

CROP = "INPUT=[3,128,96]"  # every arm's input: the quick profile's calibrated crop
SMOKE_SECONDS = 3  # every budget under --smoke: the plumbing, not the result

__all__ = ["CROP", "Bench", "Claim", "arguments", "parallel", "recipe"]


def recipe(seed: int) -> list[str]:
    """The training options of every arm: the recipe, one thread, the seed."""
    return [*RECIPE, *ONE_CORE, "--seed", str(seed)]


@dataclass(frozen=True)
class Claim:
    """A sentence of a paper, as: arm `better` reaches a higher AP than arm `worse`."""

    source: str  # e.g. "EfficientPose Table 6"
    text: str
    better: str
    worse: str
    cheaper: bool = False  # also needs `better`'s MACs <= `worse`'s (dominance)


def arguments(doc: str, budget: int) -> argparse.Namespace:
    """The options every ablation script takes; `budget` is its default per-arm seconds."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument(
        "--seeds", type=int, nargs="+", default=[0, 1], help="default: 2, which fit an hour"
    )
    parser.add_argument("--budget", type=int, default=budget, help="training seconds per arm")
    parser.add_argument("--out", help="output folder (default out/ablations/SCRIPT)")
    parser.add_argument("--archc", default=os.environ.get("ARCHC", ".venv/bin/archc"))
    parser.add_argument("--smoke", action="store_true", help="seconds per arm: the plumbing")
    parser.add_argument("--fresh", action="store_true", help="forget finished arms")
    return parser.parse_args()


class Bench:
    """One ablation's folder, its `archc` steps and its results log."""

    def __init__(self, name: str, args: argparse.Namespace) -> None:
        self.name, self.smoke, self.seeds = name, args.smoke, args.seeds
        self.budget = SMOKE_SECONDS if args.smoke else args.budget
        default = f"out/ablations/{name}" + ("-smoke" if args.smoke else "")
        self.out = (ROOT / (args.out or default)).resolve()
        if args.fresh and self.out.is_dir():
            if any(self.out.iterdir()) and not (self.out / "results.jsonl").is_file():
                sys.exit(f"{name}: --fresh would delete {self.out}, which holds no ablation")
            shutil.rmtree(self.out)
        self.out.mkdir(parents=True, exist_ok=True)
        archc = args.archc if os.path.isabs(args.archc) else str(ROOT / args.archc)
        if not os.access(archc, os.X_OK):
            archc = shutil.which("archc") or sys.exit(f"{name}: no archc; run `make setup`")
        self.archc = archc
        self.step = Step(archc, self.out, job=name)
        self.results = self.out / "results.jsonl"

    # -- data ---------------------------------------------------------------------------

    def data(self, video: bool = False) -> Path:
        """The quick synthetic set (stills, or videos of 8 frames), made once and shared
        by every ablation: out/ablations/data[-video][-smoke]. A set cut short is
        rendered again (`--force`), never a folder holding anything else."""
        name = ("data-video" if video else "data") + ("-smoke" if self.smoke else "")
        folder = ROOT / "out" / "ablations" / name
        if (folder / "annotations" / "person_keypoints_val.json").is_file():
            return folder
        force = folder.is_dir() and any(folder.iterdir())
        if force and {p.name for p in folder.iterdir()} - {"annotations", "images"}:
            sys.exit(f"{self.name}: {folder} holds something other than a data set; move it")
        train, val = (40, 10) if self.smoke else (1000, 100)
        shape = (
            ["--video", "8", "--train", str(train // 4), "--val", str(val // 4)]
            if video
            else ["--train", str(train), "--val", str(val)]
        )
        self.step(
            name,
            "data",
            "synth",
            str(folder),
            "--profile",
            "quick",
            *shape,
            "--size",
            "192x256",
            *(["--force"] if force else []),
        )
        return folder

    # -- arms ---------------------------------------------------------------------------

    def done(self, arm: str, seed: int) -> dict | None:
        for row in self.rows():
            if row["arm"] == arm and row["seed"] == seed:
                return row
        return None

    def rows(self) -> list[dict]:
        if not self.results.is_file():
            return []
        return [json.loads(line) for line in self.results.read_text().splitlines() if line]

    def run_folder(self, arm: str, seed: int, stage: str = "") -> Path:
        folder = self.out / f"seed{seed}" / (f"{arm}-{stage}" if stage else arm)
        shutil.rmtree(folder, ignore_errors=True)  # a half-finished arm is redone
        return folder

    def train(
        self,
        arm: str,
        seed: int,
        spec: list[str],
        data: Path,
        *extra: str,
        stage: str = "",
        seconds: int | None = None,
    ) -> Path:
        """`archc train SPEC`: the run folder."""
        return self._budgeted(("train",), arm, seed, stage, spec, data, extra, seconds)

    def supernet(
        self,
        arm: str,
        seed: int,
        space: list[str],
        data: Path,
        *extra: str,
        seconds: int | None = None,
    ) -> Path:
        """`archc supernet train SPACE` (sandwich rule), validated only at its end."""
        extra = ("--val-every", "1000", *extra)
        return self._budgeted(
            ("supernet", "train"), arm, seed, "supernet", space, data, extra, seconds
        )

    def search(self, arm: str, seed: int, space: list[str], data: Path, *extra: str) -> Path:
        """`archc search SPACE` with a strategy that trains (differentiable, policy, or
        random from scratch: named in EXTRA); its find is in FOLDER/best/."""
        return self._budgeted(("search",), arm, seed, "search", space, data, extra, None)

    def one_shot(
        self,
        arm: str,
        seed: int,
        space: list[str],
        supernet: Path,
        data: Path,
        evaluations: int,
        *extra: str,
    ) -> Path:
        """`archc search SPACE --supernet` (evolution unless EXTRA names another strategy)
        on one thread: its folder."""
        folder = self.run_folder(arm, seed, "search")
        self.step(
            f"{arm}-search-seed{seed}",
            "search",
            *space,
            "--supernet",
            str(supernet),
            "--data",
            str(data),
            "--evaluations",
            str(6 if self.smoke else evaluations),
            "--threads",
            "1",
            "--seed",
            str(seed),
            *extra,
            "--out",
            str(folder),
        )
        return folder

    def _budgeted(
        self,
        command: tuple[str, ...],
        arm: str,
        seed: int,
        stage: str,
        spec: list[str],
        data: Path,
        extra: tuple[str, ...],
        seconds: int | None,
    ) -> Path:
        """`archc COMMAND SPEC` with the recipe, on one thread, for the budget (or
        SECONDS), in a fresh folder: that folder."""
        run = self.run_folder(arm, seed, stage)
        name = f"{arm}-{stage}-seed{seed}" if stage else f"{arm}-seed{seed}"
        self.step(
            name,
            *command,
            *spec,
            "--data",
            str(data),
            *recipe(seed),
            "--budget-seconds",
            str(seconds or self.budget),
            *extra,
            "--out",
            str(run),
        )
        return run

    def trained(self, arm: str, seed: int, spec: list[str], data: Path) -> None:
        """The arm that trains the net SPEC from scratch for the budget (once)."""
        if not self.done(arm, seed):
            self.record(arm, seed, self.train(arm, seed, spec, data), spec)

    def searched(self, arm: str, seed: int, space: list[str], data: Path, *options: str) -> None:
        """The arm that searches SPACE with OPTIONS for the budget, then trains its find
        from scratch for the budget (once)."""
        if self.done(arm, seed):
            return
        search = self.search(arm, seed, space, data, *options)
        found = [*space, "--config", str(search / "best" / "config.json")]
        self.record(arm, seed, self.train(arm, seed, found, data, stage="retrain"), found)

    def record(self, arm: str, seed: int, run: Path, spec: list[str], **more) -> dict:
        """Append the arm's result to the log: the best validation AP of RUN (a training
        run's, else a search folder's best trial's), the cost of SPEC (MORE may
        replace `macs`, e.g. by a temporal net's MACs per frame)."""
        if (run / "metrics.jsonl").is_file() and not (run / "subnets").is_dir():
            last = json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])
            ap, epochs = last["best_AP"], last["epoch"]
        else:  # a one-shot search, or a random search training from scratch
            ap, epochs = json.loads((run / "best.json").read_text())["best"]["AP"], None
        params, macs = self.cost(spec)
        row = {
            "arm": arm,
            "seed": seed,
            "AP": ap,
            "epochs": epochs,
            "macs": macs,
            "params": params,
            "run": str(run.relative_to(self.out)),
            **more,
        }
        with self.results.open("a") as handle:
            handle.write(json.dumps(row) + "\n")
        self.step.say(f"{arm} seed {seed}: AP {ap:.3f} at {row['macs'] / 1e6:.1f}M MACs")
        return row

    def cost(self, spec: list[str]) -> tuple[int, int]:
        """(params, MACs) of a net or subnet from `archc info --json`."""
        done = subprocess.run(
            [self.archc, "info", *spec, "--json"], cwd=ROOT, capture_output=True, text=True
        )
        if done.returncode != 0:
            raise SystemExit(f"{self.name}: archc info {' '.join(spec)} failed:\n{done.stderr}")
        doc = json.loads(done.stdout)
        return doc["params"], doc["macs"]

    # -- the verdict --------------------------------------------------------------------

    def report(self, claims: list[Claim]) -> str:
        """Print and write OUT/results.md: the command that ran, one row per arm, one
        verdict per claim."""
        command = f"python bench/ablations/{self.name}.py {shlex.join(sys.argv[1:])}".strip()
        rows = self.rows()
        arms = list(dict.fromkeys(row["arm"] for row in rows))
        lines = [
            f"`{command}`",
            "",
            "| arm | AP mean | spread | seeds | MACs | params | epochs |",
            "|---|---|---|---|---|---|---|",
        ]
        for arm in arms:
            aps, mine = apses(rows, arm), [r for r in rows if r["arm"] == arm]
            lines.append(
                f"| {arm} | {statistics.fmean(aps):.3f} | {spread(aps)} | {len(aps)} "
                f"| {statistics.fmean(r['macs'] for r in mine) / 1e6:.1f}M "
                f"| {statistics.fmean(r['params'] for r in mine):,.0f} "
                f"| {_mean(r['epochs'] for r in mine)} |"
            )
        lines += ["", "| claim | verdict |", "|---|---|"]
        lines += [f"| {c.source}: {c.text} | {verdict(c, rows)} |" for c in claims]
        text = "\n".join(lines) + "\n"
        (self.out / "results.md").write_text(text)
        print("\n" + text)
        return text


def _mean(values) -> str:
    known = [v for v in values if v is not None]
    return f"{statistics.fmean(known):.0f}" if known else "-"


def apses(rows: list[dict], arm: str) -> list[float]:
    return [row["AP"] for row in rows if row["arm"] == arm]


def spread(values: list[float]) -> str:
    """max - min over seeds ("-" for one seed: no spread to speak of)."""
    return f"{max(values) - min(values):.3f}" if len(values) > 1 else "-"


def verdict(claim: Claim, rows: list[dict]) -> str:
    good, bad = apses(rows, claim.better), apses(rows, claim.worse)
    if not good or not bad:
        return "not measured"
    mean_good, mean_bad = statistics.fmean(good), statistics.fmean(bad)
    numbers = f"{mean_good:.3f} vs {mean_bad:.3f}"
    if claim.cheaper:
        most = max(r["macs"] for r in rows if r["arm"] == claim.better)
        least = min(r["macs"] for r in rows if r["arm"] == claim.worse)
        if most > least:
            return f"did not hold: more MACs ({most / 1e6:.1f}M vs {least / 1e6:.1f}M)"
    if mean_good == mean_bad:
        return f"tied ({numbers}): nothing separates the arms at this budget"
    if mean_good < mean_bad:
        return f"did not hold ({numbers})"
    if len(good) == 1 or len(bad) == 1:
        return f"held on one seed ({numbers})"
    if min(good) > max(bad):
        return f"held ({numbers}, spreads apart)"
    return f"not separated ({numbers}: spreads overlap)"
