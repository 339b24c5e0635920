from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gathering_provider.resilience.breaker import (
    Admission,
    BreakerOpenError,
    BreakerState,
    BreakerStoreError,
    CircuitBreaker,
    error_summary,
)
from gathering_provider.resilience.settings import BreakerPolicy

START = datetime(2026, 1, 1, tzinfo=UTC)
KEY = "gathering.breaker.dag.node"
NODE = "dag.node"
SETTLE = 0.5
LEASE = 300.0
LOGGER = "tests.breaker"
STORED_KEYS = {
    "state",
    "failure_count",
    "failure_threshold",
    "recovery_timeout",
    "opened_at",
    "updated_at",
    "last_error",
    "last_error_at",
}


# ------------------------------------------------------------------------------------------ test doubles


class Clock:
    """Wall-clock time that only moves when told to."""

    def __init__(self, start: datetime = START) -> None:
        self.current = start

    def now(self) -> datetime:
        return self.current

    def advance(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)


class Sleeper:
    """Records each sleep and advances the clock by it instead of sleeping."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.calls: list[float] = []
        self.hook: Callable[[], None] | None = None

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        self.clock.advance(seconds)
        if self.hook is not None:
            self.hook()


Hook = Callable[["MemoryStore", str, Any], None]


class MemoryStore:
    """Last-writer-wins text storage in a dict, counting reads and writes.

    ``on_get`` runs after a read (with the value read), ``on_set`` after a write has landed: they play
    what other workers do in between. ``put`` writes without counting or hooks (another worker's write).
    """

    def __init__(self, values: dict[str, str] | None = None) -> None:
        self.values = dict(values or {})
        self.reads = 0
        self.writes = 0
        self.written: list[str] = []
        self.on_get: Hook | None = None
        self.on_set: Hook | None = None
        self.get_error: Exception | None = None
        self.set_error: Exception | None = None

    def get(self, key: str) -> str | None:
        self.reads += 1
        if self.get_error is not None:
            raise self.get_error
        value = self.values.get(key)
        if self.on_get is not None:
            self.on_get(self, key, value)
        return value

    def set(self, key: str, value: str) -> None:
        self.writes += 1
        if self.set_error is not None:
            raise self.set_error
        self.values[key] = value
        self.written.append(value)
        if self.on_set is not None:
            self.on_set(self, key, value)

    def put(self, key: str, state: BreakerState) -> None:
        self.values[key] = state.model_dump_json()

    def state(self, key: str = KEY) -> BreakerState:
        return BreakerState.model_validate_json(self.values[key])

    def raw(self, key: str = KEY) -> dict[str, Any]:
        return json.loads(self.values[key])


class World:
    """A store, a clock and a sleeper shared by the breakers (workers) of one test."""

    def __init__(self, store: MemoryStore | None = None) -> None:
        self.store = store or MemoryStore()
        self.clock = Clock()
        self.sleep = Sleeper(self.clock)

    def breaker(
        self,
        threshold: int = 3,
        recovery: float = 60.0,
        *,
        fail_closed: bool = False,
        node: str = NODE,
        store: Any = None,
        key: str = KEY,
    ) -> CircuitBreaker:
        return CircuitBreaker(
            BreakerPolicy(key=key, failure_threshold=threshold, recovery_timeout=recovery),
            self.store if store is None else store,
            node,
            logging.getLogger(LOGGER),
            fail_closed=fail_closed,
            settle_delay=SETTLE,
            probe_lease=LEASE,
            clock=self.clock.now,
            sleep=self.sleep,
        )

    def seed(self, threshold: int = 3, recovery: float = 60.0, **fields: Any) -> BreakerState:
        state = BreakerState(failure_threshold=threshold, recovery_timeout=recovery, **fields)
        self.store.put(KEY, state)
        return state

    def open_breaker(self, threshold: int = 3, recovery: float = 60.0) -> datetime:
        """Store an open breaker opened now; return when it was opened."""
        opened = self.clock.now()
        self.seed(
            threshold,
            recovery,
            state="open",
            failure_count=threshold,
            opened_at=opened,
            updated_at=opened,
            last_error="ConnectionError: down",
        )
        return opened


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture
def caplog(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    return caplog


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.levelno >= logging.WARNING]


def state(**fields: Any) -> BreakerState:
    return BreakerState(**{"failure_threshold": 3, "recovery_timeout": 60.0, **fields})


def at(seconds: float) -> datetime:
    return START + timedelta(seconds=seconds)


# ------------------------------------------------------------------------------------------ BreakerState


@pytest.mark.parametrize(
    ("breaker", "now", "expected"),
    [
        pytest.param(state(), at(0), Admission.ALLOW, id="closed"),
        pytest.param(state(failure_count=2), at(0), Admission.ALLOW, id="closed-with-failures"),
        pytest.param(state(state="open", opened_at=at(0)), at(59.9), Admission.REJECT, id="open-before"),
        pytest.param(state(state="open", opened_at=at(0)), at(60), Admission.PROBE, id="open-at-timeout"),
        pytest.param(state(state="open", opened_at=at(0)), at(600), Admission.PROBE, id="open-after"),
        pytest.param(state(state="open"), at(0), Admission.PROBE, id="open-without-opened-at"),
        pytest.param(
            state(state="half_open", probe_owner="w1", probe_expires_at=at(300)),
            at(299),
            Admission.REJECT,
            id="half-open-active-lease",
        ),
        pytest.param(
            state(state="half_open", probe_owner="w1", probe_expires_at=at(300)),
            at(300),
            Admission.PROBE,
            id="half-open-expired-lease",
        ),
        pytest.param(state(state="half_open"), at(0), Admission.PROBE, id="half-open-no-lease"),
    ],
)
def test_admission(breaker, now, expected):
    assert breaker.admission(now) is expected


def test_failed_counts_up_and_opens_exactly_at_the_threshold():
    current = state(failure_threshold=3)
    for count in (1, 2):
        current = current.failed(at(count), f"Error: {count}")
        assert (current.state, current.failure_count, current.opened_at) == ("closed", count, None)
        assert current.last_error == f"Error: {count}"
        assert current.last_error_at == current.updated_at == at(count)
    current = current.failed(at(3), "Error: 3")
    assert current.state == "open"
    assert current.failure_count == 3
    assert current.opened_at == at(3)
    assert current.updated_at == at(3)
    assert current.last_error == "Error: 3"
    assert current.last_error_at == at(3)


def test_a_closed_breaker_keeps_its_last_error_and_when_it_was_counted():
    after = state(failure_count=1).failed(at(5), "Error: x").succeeded(at(9))
    assert (after.state, after.failure_count) == ("closed", 0)
    assert (after.last_error, after.last_error_at, after.updated_at) == ("Error: x", at(5), at(9))


def test_a_value_stored_without_last_error_at_still_loads(world, caplog):
    world.store.values[KEY] = json.dumps(
        {
            "state": "closed",
            "failure_count": 1,
            "failure_threshold": 3,
            "recovery_timeout": 60.0,
            "opened_at": None,
            "updated_at": "2026-01-01T00:00:00Z",
            "last_error": "ConnectionError: earlier",
            "probe_owner": None,
            "probe_expires_at": None,
            "nodes": [NODE],
        }
    )
    assert world.store.state().last_error_at is None
    breaker = world.breaker()
    breaker.admit()
    world.clock.advance(7)
    breaker.record_failure(ConnectionError("again"))
    assert warnings_of(caplog) == []
    stored = world.store.state()
    assert (stored.failure_count, stored.last_error_at) == (2, at(7))
    assert stored.last_error == "ConnectionError: again"


def test_threshold_of_one_opens_on_the_first_failure():
    after = state(failure_threshold=1).failed(at(5), "Error: x")
    assert (after.state, after.opened_at) == ("open", at(5))


def test_failed_while_open_stays_open_with_the_same_opened_at():
    after = state(state="open", failure_count=3, opened_at=at(0)).failed(at(10), "Error: again")
    assert (after.state, after.failure_count, after.opened_at) == ("open", 4, at(0))


def test_failed_probe_reopens_with_a_fresh_opened_at():
    probing = state(state="open", failure_count=3, opened_at=at(0)).probing("w1", at(61), LEASE)
    after = probing.failed(at(70), "Error: still down")
    assert after.state == "open"
    assert after.opened_at == at(70)
    assert after.failure_count == 4
    assert after.probe_owner is None
    assert after.probe_expires_at is None
    assert after.retry_at == at(130)


def test_a_half_open_failure_opens_whatever_the_threshold():
    after = state(failure_threshold=100, state="half_open").failed(at(1), "Error: x")
    assert after.state == "open"


def test_probing_takes_a_lease():
    probing = state(state="open", opened_at=at(0)).probing("w1", at(61), 30)
    assert probing.state == "half_open"
    assert probing.probe_owner == "w1"
    assert probing.probe_expires_at == at(91)
    assert probing.updated_at == at(61)
    assert probing.probe_active(at(90))
    assert not probing.probe_active(at(91))


def test_succeeded_resets_everything():
    probing = state(state="open", failure_count=4, opened_at=at(0)).probing("w1", at(61), LEASE)
    after = probing.succeeded(at(62))
    assert after.state == "closed"
    assert after.failure_count == 0
    assert after.opened_at is None
    assert after.probe_owner is None
    assert after.probe_expires_at is None
    assert after.updated_at == at(62)
    assert after.pristine


def test_retry_at():
    assert state(state="open", opened_at=at(0), recovery_timeout=90).retry_at == at(90)
    assert state().retry_at is None
    assert state(state="open").retry_at is None
    assert state(state="half_open", opened_at=at(0)).retry_at is None


@pytest.mark.parametrize(
    ("breaker", "pristine"),
    [
        (state(), True),
        (state(last_error="old", nodes=["d.n"]), True),
        (state(failure_count=1), False),
        (state(state="open"), False),
        (state(state="half_open"), False),
    ],
)
def test_pristine(breaker, pristine):
    assert breaker.pristine is pristine


def test_released_frees_the_lease_and_stays_half_open():
    probing = state(state="open", opened_at=at(0)).probing("w1", at(61), LEASE)
    released = probing.released(at(65))
    assert released.state == "half_open"
    assert released.probe_owner is None
    assert released.probe_expires_at is None
    assert released.updated_at == at(65)
    assert released.admission(at(65)) is Admission.PROBE


def test_transitions_do_not_mutate_the_original():
    original = state()
    original.failed(at(1), "Error: x")
    original.probing("w1", at(1), LEASE)
    assert original == state()


def test_json_round_trip_with_utc_iso_times():
    original = state(
        state="open",
        failure_count=3,
        opened_at=START,
        updated_at=at(1),
        last_error="ConnectionError: refused",
        last_error_at=START,
        probe_owner="host:1:abc",
        probe_expires_at=at(300),
        nodes=["dag.a", "dag.b"],
    )
    text = original.model_dump_json()
    raw = json.loads(text)
    assert raw["opened_at"] in ("2026-01-01T00:00:00Z", "2026-01-01T00:00:00+00:00")
    assert raw["updated_at"] in ("2026-01-01T00:00:01Z", "2026-01-01T00:00:01+00:00")
    assert raw["probe_expires_at"] in ("2026-01-01T00:05:00Z", "2026-01-01T00:05:00+00:00")
    assert raw["last_error_at"] in ("2026-01-01T00:00:00Z", "2026-01-01T00:00:00+00:00")
    back = BreakerState.model_validate_json(text)
    assert back == original
    assert back.opened_at.utcoffset() == timedelta(0)


def test_stored_times_must_be_aware():
    with pytest.raises(ValueError):
        BreakerState.model_validate_json(
            '{"failure_threshold": 3, "recovery_timeout": 60, "opened_at": "2026-01-01T00:00:00"}'
        )


# ------------------------------------------------------------------------------------------ healthy path


@pytest.mark.parametrize("stored", ["absent", "pristine"])
def test_healthy_path_reads_once_and_never_writes(world, stored):
    if stored == "pristine":
        world.seed(last_error="ValueError: long ago", nodes=[NODE])
    breaker = world.breaker()
    breaker.admit()
    breaker.record_success()
    assert world.store.reads == 1
    assert world.store.writes == 0
    assert world.sleep.calls == []
    assert not breaker.probing


def test_success_after_failures_resets_the_count(world, caplog):
    world.seed(failure_count=2, last_error="ValueError: x")
    breaker = world.breaker()
    breaker.admit()
    breaker.record_success()
    stored = world.store.state()
    assert (stored.state, stored.failure_count) == ("closed", 0)
    assert world.store.writes == 1


# ------------------------------------------------------------------------------------------ failures


def test_failures_after_retries_open_the_breaker_at_the_threshold(world, caplog):
    for count in (1, 2, 3):
        breaker = world.breaker(threshold=3)
        breaker.admit()
        world.clock.advance(1)
        breaker.record_failure(ConnectionError(f"refused #{count}"))
        assert world.store.state().failure_count == count
        assert world.store.state().state == ("open" if count == 3 else "closed")
    stored = world.store.state()
    raw = world.store.raw()
    assert set(raw) >= STORED_KEYS
    assert raw["state"] == "open"
    assert raw["failure_count"] == 3
    assert raw["failure_threshold"] == 3
    assert raw["recovery_timeout"] == 60.0
    assert stored.opened_at == at(3)
    assert stored.last_error is not None
    assert "ConnectionError" in stored.last_error
    assert "refused #3" in stored.last_error
    assert world.sleep.calls == [SETTLE]
    assert any("opened after 3 failure(s)" in message for message in warnings_of(caplog))


def test_open_breaker_fails_fast_naming_key_and_retry_time(world):
    opened = world.open_breaker(recovery=60)
    world.clock.advance(30)
    breaker = world.breaker()
    with pytest.raises(BreakerOpenError) as raised:
        breaker.admit()
    message = str(raised.value)
    assert KEY in message
    assert (opened + timedelta(seconds=60)).isoformat() in message
    assert "2026-01-01T00:01:00" in message
    assert world.store.writes == 0


def test_failure_while_open_is_not_written(world):
    world.open_breaker()
    breaker = world.breaker()
    before = world.store.values[KEY]
    breaker.record_failure(ConnectionError("late"))
    assert world.store.values[KEY] == before
    assert world.store.writes == 0


# ------------------------------------------------------------------------------------------ probe election


def test_a_single_worker_probes_after_the_recovery_timeout(world, caplog):
    world.open_breaker(recovery=60)
    world.clock.advance(61)
    breaker = world.breaker()
    breaker.admit()
    assert breaker.probing
    stored = world.store.state()
    assert stored.state == "half_open"
    assert stored.probe_owner == breaker.owner
    assert stored.probe_expires_at == at(61 + LEASE)
    assert world.sleep.calls == [SETTLE]


class Interleaving:
    """Runs the store operations of workers in their own threads, in a scripted order.

    Each worker reaches the store through :meth:`view`; an operation named ``"<worker>.<get|set>"`` waits
    for its turn in ``order``. Once the script is played, operations run freely.
    """

    def __init__(self, store: MemoryStore, order: list[str]) -> None:
        self.store = store
        self.order = order
        self.played = 0
        self.turn = threading.Condition()

    def view(self, worker: str) -> Any:
        interleaving = self

        class View:
            def get(self, key: str) -> str | None:
                return interleaving.step(f"{worker}.get", lambda: interleaving.store.get(key))

            def set(self, key: str, value: str) -> None:
                interleaving.step(f"{worker}.set", lambda: interleaving.store.set(key, value))

        return View()

    def step(self, name: str, operation: Callable[[], Any]) -> Any:
        with self.turn:
            scripted = self.turn.wait_for(
                lambda: self.played >= len(self.order) or self.order[self.played] == name, timeout=5
            )
            assert scripted, f"{name} waited for its turn at step {self.played} of {self.order}"
            result = operation()
            self.played += 1
            self.turn.notify_all()
            return result


def run_concurrently(calls: dict[str, Callable[[], None]]) -> dict[str, BaseException | None]:
    """Run each call in its own thread; return what each raised (``None`` for nothing)."""
    outcomes: dict[str, BaseException | None] = {}

    def run(name: str, call: Callable[[], None]) -> None:
        try:
            call()
            outcomes[name] = None
        except BaseException as error:
            outcomes[name] = error

    threads = [threading.Thread(target=run, args=item) for item in calls.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert not any(thread.is_alive() for thread in threads)
    return outcomes


@pytest.mark.parametrize(
    ("order", "winner", "loser"),
    [
        pytest.param(["A.get", "B.get", "A.set", "B.set", "A.get", "B.get"], "B", "A", id="B-writes-last"),
        pytest.param(["A.get", "B.get", "B.set", "A.set", "B.get", "A.get"], "A", "B", id="A-writes-last"),
        pytest.param(
            ["B.get", "A.get", "A.set", "B.set", "B.get", "A.get"], "B", "A", id="B-reads-back-first"
        ),
    ],
)
def test_of_two_workers_racing_for_the_probe_only_the_final_lease_holder_probes(world, order, winner, loser):
    world.open_breaker(recovery=60)
    world.clock.advance(61)
    interleaving = Interleaving(world.store, order)
    breakers = {name: world.breaker(store=interleaving.view(name)) for name in ("A", "B")}
    outcomes = run_concurrently({name: breaker.admit for name, breaker in breakers.items()})
    assert interleaving.played == len(order)
    assert outcomes[winner] is None
    assert breakers[winner].probing
    assert isinstance(outcomes[loser], BreakerOpenError)
    assert not breakers[loser].probing
    assert "half-open" in str(outcomes[loser])
    assert breakers[winner].owner in str(outcomes[loser])
    stored = world.store.state()
    assert (stored.state, stored.probe_owner) == ("half_open", breakers[winner].owner)


def test_a_worker_arriving_during_the_election_fails_fast(world):
    world.open_breaker(recovery=60)
    world.clock.advance(61)
    first, second = world.breaker(), world.breaker()
    raised: list[BaseException] = []

    def second_arrives() -> None:
        world.sleep.hook = None
        with pytest.raises(BreakerOpenError) as error:
            second.admit()
        raised.append(error.value)

    world.sleep.hook = second_arrives
    first.admit()
    assert first.probing
    assert len(raised) == 1
    assert first.owner in str(raised[0])
    assert not second.probing
    assert world.store.writes == 1
    assert world.store.state().probe_owner == first.owner


def test_a_lease_released_during_the_claim_fails_fast_without_claiming_a_running_probe(world):
    world.open_breaker(recovery=60)
    world.clock.advance(61)
    claimant = world.breaker()

    def another_probe_claims_and_releases() -> None:
        world.store.put(KEY, world.store.state().probing("other", world.clock.now(), LEASE).released(at(61)))

    world.sleep.hook = another_probe_claims_and_releases
    with pytest.raises(BreakerOpenError) as raised:
        claimant.admit()
    assert str(raised.value) == (
        f"circuit breaker {KEY} is half-open and its probe lease was released or expired "
        "while this execution claimed it; the next execution may probe"
    )
    assert not claimant.probing


def test_probe_success_closes_the_breaker(world, caplog):
    world.open_breaker(recovery=60)
    world.clock.advance(61)
    probe = world.breaker()
    probe.admit()
    probe.record_success()
    stored = world.store.state()
    assert stored.state == "closed"
    assert stored.failure_count == 0
    assert stored.opened_at is None
    assert stored.probe_owner is None
    assert any("closed" in record.getMessage() for record in caplog.records)
    writes = world.store.writes
    following = world.breaker()
    following.admit()
    following.record_success()
    assert not following.probing
    assert world.store.writes == writes


def test_probe_failure_opens_the_breaker_again_with_a_fresh_opened_at(world, caplog):
    first_opened = world.open_breaker(recovery=60)
    world.clock.advance(61)
    probe = world.breaker()
    probe.admit()
    world.clock.advance(5)
    probe.record_failure(ConnectionError("still down"))
    stored = world.store.state()
    assert stored.state == "open"
    assert stored.opened_at is not None
    assert stored.opened_at > first_opened
    assert stored.opened_at == at(61 + SETTLE + 5)
    assert stored.probe_owner is None
    assert "still down" in (stored.last_error or "")
    with pytest.raises(BreakerOpenError):
        world.breaker().admit()


def test_race_winner_settles_the_breaker_after_the_race(world):
    world.open_breaker(recovery=60)
    world.clock.advance(61)
    order = ["A.get", "B.get", "A.set", "B.set", "A.get", "B.get"]
    interleaving = Interleaving(world.store, order)
    breakers = {name: world.breaker(store=interleaving.view(name)) for name in ("A", "B")}
    run_concurrently({name: breaker.admit for name, breaker in breakers.items()})
    breakers["A"].record_success()
    assert world.store.state().state == "half_open"
    breakers["B"].record_success()
    assert world.store.state().state == "closed"
    assert world.store.state().failure_count == 0


def test_an_active_lease_makes_others_fail_fast_until_it_expires(world):
    world.open_breaker(recovery=60)
    world.clock.advance(61)
    probe = world.breaker()
    probe.admit()
    world.clock.advance(LEASE - 10)
    other = world.breaker()
    with pytest.raises(BreakerOpenError) as raised:
        other.admit()
    assert str(raised.value) == (
        f"circuit breaker {KEY} is half-open: a probe is running in another execution "
        f"({probe.owner}); executions fail fast until it settles"
    )
    assert not other.probing
    world.clock.advance(10)
    late = world.breaker()
    late.admit()
    assert late.probing
    assert world.store.state().probe_owner == late.owner


def test_a_probe_whose_lease_was_taken_over_does_not_settle_the_breaker(world):
    world.open_breaker(recovery=60)
    world.clock.advance(61)
    stale = world.breaker()
    stale.admit()
    world.clock.advance(LEASE + 1)
    current = world.breaker()
    current.admit()
    writes = world.store.writes
    stale.record_success()
    stale.record_failure(ConnectionError("late"))
    assert world.store.writes == writes
    assert world.store.state().probe_owner == current.owner


def test_inconclusive_probe_frees_the_lease(world):
    world.open_breaker(recovery=60)
    world.clock.advance(61)
    probe = world.breaker()
    probe.admit()
    probe.record_inconclusive()
    stored = world.store.state()
    assert stored.state == "half_open"
    assert stored.probe_owner is None
    assert stored.probe_expires_at is None
    following = world.breaker()
    following.admit()
    assert following.probing
    assert world.store.state().probe_owner == following.owner


def test_inconclusive_outside_a_probe_touches_nothing(world):
    world.seed(failure_count=1)
    breaker = world.breaker()
    breaker.admit()
    reads, writes = world.store.reads, world.store.writes
    breaker.record_inconclusive()
    assert (world.store.reads, world.store.writes) == (reads, writes)


# ------------------------------------------------------------------------------------------ lost OPEN


def test_open_overwritten_by_a_concurrent_closed_write_is_written_again(world, caplog):
    world.seed(threshold=2, failure_count=1)
    overwritten: list[str] = []

    def concurrent_close(store: MemoryStore, key: str, value: str) -> None:
        if json.loads(value)["state"] == "open" and not overwritten:
            overwritten.append(value)
            store.put(key, state(failure_threshold=2, failure_count=0))

    world.store.on_set = concurrent_close
    breaker = world.breaker(threshold=2)
    breaker.admit()
    breaker.record_failure(TimeoutError("slow"))
    assert overwritten
    stored = world.store.state()
    assert stored.state == "open"
    assert stored.failure_count == 2
    assert world.store.writes == 2
    assert world.sleep.calls == [SETTLE, SETTLE]
    assert any("concurrent write closed it" in message for message in warnings_of(caplog))


def test_open_that_cannot_be_confirmed_logs_an_error(world, caplog):
    def always_close(store: MemoryStore, key: str, value: str) -> None:
        store.put(key, state(failure_threshold=1))

    world.store.on_set = always_close
    breaker = world.breaker(threshold=1)
    breaker.admit()
    breaker.record_failure(TimeoutError("slow"))
    assert world.store.writes == 4
    errors = [record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR]
    assert any("could not be confirmed" in message for message in errors)


@pytest.mark.parametrize("failures_at_admission", [0, 1], ids=["admitted-pristine", "admitted-with-failures"])
def test_a_stale_success_does_not_close_a_breaker_another_worker_opened(world, failures_at_admission):
    world.seed(failure_count=failures_at_admission)
    slow = world.breaker(threshold=3)
    slow.admit()
    world.clock.advance(1)
    for _ in range(3 - failures_at_admission):
        other = world.breaker(threshold=3)
        other.admit()
        other.record_failure(ConnectionError("down"))
    assert world.store.state().state == "open"
    opened = world.store.state().opened_at
    slow.record_success()
    stored = world.store.state()
    assert stored.state == "open"
    assert stored.opened_at == opened
    with pytest.raises(BreakerOpenError):
        world.breaker(threshold=3).admit()


# ------------------------------------------------------------------------------------------ store faults


def test_unreadable_store_fails_open_with_a_loud_warning(world, caplog):
    world.store.get_error = RuntimeError("execution API unavailable")
    breaker = world.breaker(fail_closed=False)
    breaker.admit()
    assert any(
        "CIRCUIT BREAKER STORE FAILED" in message
        and "execution API unavailable" in message
        and KEY in message
        for message in warnings_of(caplog)
    )
    breaker.record_success()
    breaker.record_failure(ConnectionError("down"))
    assert world.store.writes == 0


def test_unreadable_store_fails_closed_when_configured(world):
    world.store.get_error = RuntimeError("execution API unavailable")
    breaker = world.breaker(fail_closed=True)
    with pytest.raises(BreakerStoreError, match="execution API unavailable") as raised:
        breaker.admit()
    assert KEY in str(raised.value)


@pytest.mark.parametrize("outcome", ["failure", "success", "opening-failure"])
def test_unwritable_store_never_loses_the_node_result(world, caplog, outcome):
    world.seed(failure_count=2)
    breaker = world.breaker(threshold=3 if outcome == "opening-failure" else 5)
    breaker.admit()
    world.store.set_error = RuntimeError("variable write refused")
    if outcome == "success":
        breaker.record_success()
    else:
        breaker.record_failure(ConnectionError("down"))
    assert world.store.writes == 1
    assert world.store.state().failure_count == 2
    assert any(
        "CIRCUIT BREAKER STORE FAILED" in message and "variable write refused" in message
        for message in warnings_of(caplog)
    )


@pytest.mark.parametrize("fail_closed", [False, True])
def test_unwritable_store_while_claiming_the_probe(world, caplog, fail_closed):
    world.open_breaker(recovery=60)
    world.clock.advance(61)
    world.store.set_error = RuntimeError("variable write refused")
    breaker = world.breaker(fail_closed=fail_closed)
    if fail_closed:
        with pytest.raises(BreakerStoreError, match="variable write refused"):
            breaker.admit()
    else:
        breaker.admit()
        assert any("CIRCUIT BREAKER STORE FAILED" in message for message in warnings_of(caplog))
    assert not breaker.probing


CORRUPT_VALUES = [
    pytest.param("{not json", id="not-json"),
    pytest.param('{"state": "exploded"}', id="wrong-shape"),
    pytest.param('{"state": "open", "failure_threshold": "many", "recovery_timeout": 1}', id="wrong-type"),
    pytest.param("[1, 2]", id="not-an-object"),
    pytest.param("", id="empty"),
]


@pytest.mark.parametrize("corrupt", CORRUPT_VALUES)
def test_corrupt_state_fails_open_and_is_replaced(world, caplog, corrupt):
    world.store.values[KEY] = corrupt
    breaker = world.breaker(threshold=4, recovery=30, fail_closed=False)
    breaker.admit()
    assert any("CORRUPT" in message and KEY in message for message in warnings_of(caplog))
    raw = world.store.raw()
    assert raw["state"] == "closed"
    assert raw["failure_count"] == 0
    assert raw["failure_threshold"] == 4
    assert raw["recovery_timeout"] == 30
    assert raw["nodes"] == [NODE]
    assert world.store.state().pristine


@pytest.mark.parametrize("corrupt", CORRUPT_VALUES)
def test_corrupt_state_fails_closed_when_configured_and_is_left_in_place(world, corrupt):
    world.store.values[KEY] = corrupt
    breaker = world.breaker(fail_closed=True)
    with pytest.raises(BreakerStoreError, match="corrupt") as raised:
        breaker.admit()
    assert KEY in str(raised.value)
    assert world.store.values[KEY] == corrupt
    assert world.store.writes == 0


def test_corrupt_state_counts_a_failure_from_closed(world, caplog):
    world.store.values[KEY] = "{not json"
    breaker = world.breaker(threshold=3)
    breaker.record_failure(ConnectionError("down"))
    stored = world.store.state()
    assert (stored.state, stored.failure_count) == ("closed", 1)
    assert any("CORRUPT" in message for message in warnings_of(caplog))


# ------------------------------------------------------------------------------------------ settings, nodes


def test_current_threshold_overrides_the_stored_one(world):
    world.seed(threshold=10, failure_count=1)
    breaker = world.breaker(threshold=2)
    breaker.admit()
    breaker.record_failure(ConnectionError("down"))
    raw = world.store.raw()
    assert raw["state"] == "open"
    assert raw["failure_threshold"] == 2


def test_current_recovery_timeout_overrides_the_stored_one(world):
    world.open_breaker(recovery=600)
    world.clock.advance(31)
    breaker = world.breaker(recovery=30)
    breaker.admit()
    assert breaker.probing
    assert world.store.raw()["recovery_timeout"] == 30


def test_longer_current_recovery_timeout_keeps_it_open(world):
    world.open_breaker(recovery=10)
    world.clock.advance(31)
    with pytest.raises(BreakerOpenError, match="2026-01-01T00:01:00"):
        world.breaker(recovery=60).admit()


def test_node_names_are_recorded_once_each(world):
    first = world.breaker(node="dag.node")
    first.admit()
    first.record_failure(ConnectionError("down"))
    assert world.store.raw()["nodes"] == ["dag.node"]
    again = world.breaker(node="dag.node")
    again.record_failure(ConnectionError("down"))
    assert world.store.raw()["nodes"] == ["dag.node"]
    other = world.breaker(node="other_dag.caller")
    other.record_failure(ConnectionError("down"))
    assert world.store.raw()["nodes"] == ["dag.node", "other_dag.caller"]


def test_workers_have_distinct_owners(world):
    assert world.breaker().owner != world.breaker().owner


# ------------------------------------------------------------------------------------------ error summary


def test_error_summary_names_the_type_and_message():
    assert error_summary(ConnectionError("refused")) == "ConnectionError: refused"


def test_error_summary_is_a_single_line():
    summary = error_summary(ValueError("first line\n  second\tline\r\nthird"))
    assert summary == "ValueError: first line second line third"
    assert "\n" not in summary and "\r" not in summary and "\t" not in summary


def test_error_summary_truncates_long_messages():
    summary = error_summary(RuntimeError("x" * 1000 + "\nend"))
    assert summary == "RuntimeError: " + "x" * 300
    assert len(summary) == len("RuntimeError: ") + 300


def test_error_summary_keeps_a_message_of_exactly_the_limit():
    assert error_summary(KeyError("y" * 298)).endswith("y" * 298 + "'")


def test_a_probe_claim_that_finds_the_breaker_closed_runs_without_probing(world):
    world.open_breaker(recovery=60)
    world.clock.advance(61)
    claimant = world.breaker()

    def another_worker_closes_it() -> None:
        world.sleep.hook = None
        world.store.put(KEY, world.store.state().succeeded(world.clock.now()))

    world.sleep.hook = another_worker_closes_it
    claimant.admit()

    assert not claimant.probing
    assert world.store.state().state == "closed"
