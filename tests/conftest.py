"""Hypothesis profiles. Local runs draw fresh examples every time (to find new bugs);
`ARCHC_HYPOTHESIS=ci` (set by `.ci/run`) derandomises them, so CI is reproducible and
a red CI run is a real, repeatable failure rather than a lucky draw."""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("dev", print_blob=True)
settings.load_profile(os.environ.get("ARCHC_HYPOTHESIS", "dev"))
