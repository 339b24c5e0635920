"""Hypothesis profiles: a small seeded run in the suite; ``GATHERING_FUZZ_EXAMPLES=10000`` for the fuzz run.

GATHERING_FUZZ_EXAMPLES=10000 .venv/bin/python -m pytest tests/fuzz -p no:cacheprovider
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

FUZZ_EXAMPLES = int(os.environ.get("GATHERING_FUZZ_EXAMPLES", "0"))
FUZZING = FUZZ_EXAMPLES > 0
"""Whether this is the fuzz run: random seeds, many examples, time and memory bounds asserted."""

settings.register_profile(
    "suite",
    max_examples=60,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "fuzz",
    max_examples=max(FUZZ_EXAMPLES, 1),
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
settings.load_profile("fuzz" if FUZZING else "suite")
