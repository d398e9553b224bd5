"""`python kill_runner.py N[:SIGNAL] ARGS...`: run `archc ARGS...` and send the process
SIGKILL (or SIGNAL, e.g. INT) after its N-th optimisation step.

The kill is an `on_step` callback added to every `fit` the command makes (the
product's loop has no kill switch of its own), so it lands at the same step every
time and no cleanup code runs: exactly a crash.
"""

from __future__ import annotations

import os
import signal
import sys

import archc.runtime.train as train
from archc.cli.main import main

# under torchrun only this rank dies (the others are stopped by torchrun, as when a
# node fails)
DYING_RANK = os.environ.get("ARCHC_KILL_RANK", "0")


def _with_kill(fit, after: int, sig: signal.Signals):
    def fit_then_die(*args, on_step=None, **kwargs):
        def on_step_and_die(info):
            if on_step is not None:
                on_step(info)
            if info["step"] >= after and os.environ.get("RANK", "0") == DYING_RANK:
                os.kill(os.getpid(), sig)

        return fit(*args, on_step=on_step_and_die, **kwargs)

    return fit_then_die


if __name__ == "__main__":
    # A shell without job control starts background jobs with SIGINT ignored, and a
    # child inherits that (`make test &` would then never see its Ctrl-C): the runner
    # simulates a terminal's Ctrl-C, so Python's own handler is put back.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    after, _, name = sys.argv[1].partition(":")
    train.fit = _with_kill(train.fit, int(after), signal.Signals[f"SIG{name or 'KILL'}"])
    sys.exit(main(sys.argv[2:]))
