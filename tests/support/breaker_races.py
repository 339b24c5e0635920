"""Worker processes racing on breaker state in one metadata DB, as Airflow workers on several hosts would.

Each race starts every worker at once through a barrier. A worker drives a real
:class:`~gathering_provider.resilience.breaker.CircuitBreaker` over the metadata-DB Variable store and
reports what it was allowed to do.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from multiprocessing.synchronize import Barrier
from typing import Any, Literal

from gathering_provider.resilience.settings import BreakerPolicy

Kind = Literal["probe", "open"]


@dataclass(frozen=True)
class Race:
    """One race: every worker admits on ``key``; in an ``open`` race, worker 0 then records a failure
    (outcome ``opened`` when it wrote OPEN) and the others a success."""

    kind: Kind
    policy: BreakerPolicy

    @property
    def key(self) -> str:
        return self.policy.key


def run_worker(
    index: int, races: list[Race], start: Barrier, done: Barrier, results: Any, settle: float
) -> None:
    """Run every race as worker ``index``; put ``(race number, worker, outcome)`` on ``results``."""
    from gathering_provider.resilience.breaker import BreakerOpenError, CircuitBreaker
    from gathering_provider.resilience.metadata_store import MetadataVariableStore

    log = logging.getLogger(f"race.worker{index}")
    store = MetadataVariableStore()
    for number, race in enumerate(races):
        breaker = CircuitBreaker(
            race.policy, store, f"races.w{index}", log, fail_closed=False, settle_delay=settle
        )
        start.wait()
        try:
            breaker.admit()
            outcome = "probe" if breaker.probing else "allowed"
        except BreakerOpenError:
            outcome = "rejected"
        if race.kind == "open" and outcome != "rejected":
            if index == 0:
                written = breaker.record_failure(ConnectionError("backend down"))
                outcome = "opened" if written is not None and written.state == "open" else "counted"
            else:
                breaker.record_success()
        results.put((number, index, outcome))
        done.wait()
