"""Several OS processes race on one breaker in the session's metadata DB.

- probe races: an open breaker past its recovery timeout; every worker asks at once; exactly one may
  run (the probe), the rest fail fast;
- OPEN races: a closed breaker one failure short of its threshold; one worker records a failure while
  the others, admitted at the same moment, record successes (which clear failures). When the failure
  lands first it opens the breaker, and that OPEN must survive the resets that land after it; when a
  reset lands first, the failure is counted on a cleared breaker, which rightly stays closed.
"""

from __future__ import annotations

import multiprocessing
from collections import Counter
from datetime import UTC, datetime, timedelta

from gathering_provider.resilience.breaker import BreakerState
from gathering_provider.resilience.metadata_store import MetadataVariableStore
from gathering_provider.resilience.settings import BreakerPolicy
from tests.support.breaker_races import Race, run_worker

WORKERS = 4
RACES = 100
SETTLE = 0.3


def races(kind: str, **settings) -> list[Race]:
    """RACES races of one kind, each on a breaker of its own."""
    return [
        Race(kind, BreakerPolicy(key=f"gathering.breaker.races.{kind}{i}", **settings)) for i in range(RACES)
    ]


def race_all(planned: list[Race], prepare) -> list[tuple[Counter, BreakerState]]:
    """Run the races with WORKERS processes; per race, the outcomes and the final stored state."""
    context = multiprocessing.get_context("spawn")
    start, done = context.Barrier(WORKERS + 1, timeout=120), context.Barrier(WORKERS + 1, timeout=120)
    results = context.Queue()
    workers = [
        context.Process(target=run_worker, args=(index, planned, start, done, results, SETTLE))
        for index in range(WORKERS)
    ]
    for worker in workers:
        worker.start()
    store = MetadataVariableStore()
    outcomes = []
    try:
        for race in planned:
            prepare(store, race)
            start.wait()
            done.wait()
            counts = Counter(results.get(timeout=60)[2] for _ in range(WORKERS))
            outcomes.append((counts, BreakerState.model_validate_json(store.get(race.key))))
    finally:
        for worker in workers:
            worker.join(timeout=60)
    assert all(worker.exitcode == 0 for worker in workers)
    return outcomes


def test_half_open_lets_exactly_one_probe_through(capsys):
    policy = dict(failure_threshold=3, recovery_timeout=1)
    long_ago = datetime.now(UTC) - timedelta(hours=1)

    def prepare(store, race):
        opened = BreakerState(state="open", failure_count=3, opened_at=long_ago, **policy)
        store.set(race.key, opened.model_dump_json())

    outcomes = race_all(races("probe", **policy), prepare)

    single = sum(counts["probe"] + counts["allowed"] == 1 for counts, _ in outcomes)
    totals = sum((counts for counts, _ in outcomes), Counter())
    with capsys.disabled():
        print(f"\nprobe races: {single}/{RACES} let exactly one execution through; outcomes {dict(totals)}")
    assert single >= 99
    assert all(state.state == "half_open" for _, state in outcomes)


def test_open_transition_is_never_lost(capsys):
    policy = dict(failure_threshold=3, recovery_timeout=3600)

    def prepare(store, race):
        store.set(race.key, BreakerState(state="closed", failure_count=2, **policy).model_dump_json())

    outcomes = race_all(races("open", **policy), prepare)

    opened = [state for counts, state in outcomes if counts["opened"] == 1]
    lost = sum(state.state != "open" for state in opened)
    with capsys.disabled():
        print(
            f"\nOPEN races: the failure opened the breaker in {len(opened)}/{RACES} races "
            f"(against {WORKERS - 1} concurrent resets each); OPEN lost in {lost}"
        )
    assert len(opened) >= RACES // 10
    assert lost == 0
