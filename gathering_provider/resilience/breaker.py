"""Circuit breakers whose state lives in Airflow Variables, shared by every worker and every run.

:class:`BreakerState` is the stored value and its state machine (pure, driven by an explicit ``now``).
:class:`CircuitBreaker` runs the protocol that keeps it sound without compare-and-set:

- every write is computed from a value read just before it, never from the one read at admission;
- the worker that writes OPEN reads it back after ``settle_delay`` and writes it again if a concurrent
  writer replaced it by a closed state, so an OPEN transition is not lost;
- an open breaker past its recovery timeout is claimed for one probe: a worker writes a lease
  ``{probe_owner, probe_expires_at}``, waits ``settle_delay``, reads back, and probes only if the lease
  still names it; the others fail fast until the probe settles or its lease expires.

Store trouble (the Variable API raising, a corrupt value) never loses the node's own result: by default
the node runs anyway and the task log warns (``[gathering] breaker_fail_closed`` fails it instead). A value
is corrupt when it is not a state (:meth:`BreakerState.parse`), whoever wrote it: any value is read without
crashing, and a corrupt one is replaced by a fresh closed state.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Literal

from pydantic import AwareDatetime, BaseModel, Field, field_validator

from gathering_provider import config
from gathering_provider.definition.models import Duration, Threshold
from gathering_provider.errors import redact_credentials
from gathering_provider.resilience.settings import BreakerPolicy
from gathering_provider.resilience.store import BreakerStore

CONFIRM_ROUNDS = 3
CLOCK_SKEW = timedelta(hours=1)
"""How far ahead of a reader's clock a stored time may be (another worker's clock) before it is corrupt."""
MAX_PROBE_LEASE = 86_400.0
MAX_SETTLE_DELAY = 60.0


def utcnow() -> datetime:
    """Wall-clock time in UTC: breaker times must mean the same on every worker."""
    return datetime.now(UTC)


class Admission(Enum):
    """What an execution may do, given the breaker's state."""

    ALLOW = "allow"
    REJECT = "reject"
    PROBE = "probe"


class BreakerState(BaseModel):
    """The JSON value of ``gathering.breaker.<key>``.

    ``last_error`` and ``last_error_at`` are the latest failure counted and when it was counted; they are
    kept when the breaker closes again, so on a closed breaker they are history, not current health.
    A value stored without ``last_error_at`` reads as ``None``.
    """

    state: Literal["closed", "open", "half_open"] = "closed"
    failure_count: int = Field(default=0, ge=0)
    failure_threshold: Threshold
    recovery_timeout: Duration
    opened_at: AwareDatetime | None = None
    updated_at: AwareDatetime | None = None
    last_error: str | None = None
    last_error_at: AwareDatetime | None = None
    probe_owner: str | None = None
    probe_expires_at: AwareDatetime | None = None
    nodes: list[str] = []

    @field_validator("opened_at", "updated_at", "last_error_at", "probe_expires_at")
    @classmethod
    def _in_utc(cls, value: datetime | None) -> datetime | None:
        """Times in UTC, so comparing them and adding to them never overflows past year 1 or 9999."""
        if value is None:
            return None
        try:
            return value.astimezone(UTC)
        except OverflowError as error:
            raise ValueError(f"{value.isoformat()} is out of range in UTC") from error

    @classmethod
    def parse(cls, text: str, now: datetime) -> BreakerState:
        """Read a stored value; raise ``ValueError`` when it is corrupt.

        Corrupt is: not JSON, not a state, a count or setting out of its range, a time further ahead of
        ``now`` than :data:`CLOCK_SKEW` (or, for a probe lease, than its longest lease too), or a text that
        cannot be written back.
        """
        try:
            state = cls.model_validate(json.loads(text))
        except RecursionError:
            raise ValueError("the value nests too deeply") from None
        latest = now + CLOCK_SKEW
        for name in ("opened_at", "updated_at", "last_error_at"):
            moment = getattr(state, name)
            if moment is not None and moment > latest:
                raise ValueError(f"{name} {moment.isoformat()} is ahead of the clock")
        if state.probe_expires_at is not None and state.probe_expires_at > latest + timedelta(
            seconds=MAX_PROBE_LEASE
        ):
            raise ValueError(f"probe_expires_at {state.probe_expires_at.isoformat()} is ahead of any lease")
        state.model_dump_json()  # raises on a text that cannot be written back (a lone surrogate)
        return state

    @property
    def pristine(self) -> bool:
        """Closed with no failure: the healthy state, which needs no write."""
        return self.state == "closed" and self.failure_count == 0

    @property
    def retry_at(self) -> datetime | None:
        """When an open breaker lets a probe through."""
        if self.state != "open" or self.opened_at is None:
            return None
        return self.opened_at + timedelta(seconds=self.recovery_timeout)

    def probe_active(self, now: datetime) -> bool:
        """Whether a half-open probe holds an unexpired lease."""
        return (
            self.probe_owner is not None and self.probe_expires_at is not None and now < self.probe_expires_at
        )

    def admission(self, now: datetime) -> Admission:
        """Closed allows; open rejects until its recovery timeout, then asks for a probe; half-open
        rejects while a probe holds its lease."""
        if self.state == "closed":
            return Admission.ALLOW
        if self.state == "open":
            retry_at = self.retry_at
            return Admission.REJECT if retry_at is not None and now < retry_at else Admission.PROBE
        return Admission.REJECT if self.probe_active(now) else Admission.PROBE

    def probing(self, owner: str, now: datetime, lease: float) -> BreakerState:
        """Half-open, with ``owner`` holding the probe lease."""
        return self._updated(
            now, state="half_open", probe_owner=owner, probe_expires_at=now + timedelta(seconds=lease)
        )

    def succeeded(self, now: datetime) -> BreakerState:
        """Closed, with no failure: what any success leads to."""
        return self._updated(
            now, state="closed", failure_count=0, opened_at=None, probe_owner=None, probe_expires_at=None
        )

    def failed(self, now: datetime, error: str) -> BreakerState:
        """One more failure: closed opens at the threshold, a failed probe opens again with a fresh
        ``opened_at``; an open breaker stays open."""
        count = self.failure_count + 1
        opens = self.state == "half_open" or (self.state == "closed" and count >= self.failure_threshold)
        return self._updated(
            now,
            state="open" if opens else self.state,
            failure_count=count,
            opened_at=now if opens else self.opened_at,
            last_error=error,
            last_error_at=now,
            probe_owner=None,
            probe_expires_at=None,
        )

    def released(self, now: datetime) -> BreakerState:
        """Half-open with no probe: an inconclusive probe lets the next execution probe at once."""
        return self._updated(now, probe_owner=None, probe_expires_at=None)

    def _updated(self, now: datetime, **changes: object) -> BreakerState:
        return self.model_copy(update={**changes, "updated_at": now})


class BreakerOpenError(Exception):
    """The node failed fast: its breaker is open, or another worker is probing."""


class BreakerStoreError(Exception):
    """The breaker state could not be read or is corrupt, and ``breaker_fail_closed`` is set."""


def error_summary(error: BaseException) -> str:
    """A short, single-line description of ``error`` for the stored state, without URL credentials."""
    text = " ".join(redact_credentials(str(error)).split())
    return f"{type(error).__name__}: {text[:300]}"


def _seconds(name: str, value: float, low: float, high: float) -> float:
    if not low <= value <= high:  # also refuses NaN
        raise ValueError(f"[gathering] {name} must be a number of seconds from {low:g} to {high:g}")
    return value


class CircuitBreaker:
    """One breaker, as one node execution drives it: :meth:`admit`, then one ``record_*`` call.

    :param policy: key, threshold and recovery timeout.
    :param store: where the state lives.
    :param node: the node using it (:func:`~gathering_provider.resilience.settings.node_name`), recorded in
        the state.
    :param log: the task's logger.
    """

    def __init__(
        self,
        policy: BreakerPolicy,
        store: BreakerStore,
        node: str,
        log: logging.Logger,
        *,
        fail_closed: bool | None = None,
        settle_delay: float | None = None,
        probe_lease: float | None = None,
        clock: Callable[[], datetime] = utcnow,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.policy = policy
        self.store = store
        self.node = node
        self.log = log
        self.fail_closed = config.get_bool("breaker_fail_closed") if fail_closed is None else fail_closed
        self.settle_delay = _seconds(
            "breaker_settle_delay",
            config.get_float("breaker_settle_delay") if settle_delay is None else settle_delay,
            0,
            MAX_SETTLE_DELAY,
        )
        self.probe_lease = _seconds(
            "breaker_probe_lease",
            config.get_float("breaker_probe_lease") if probe_lease is None else probe_lease,
            0,
            MAX_PROBE_LEASE,
        )
        self.clock = clock
        self.sleep = sleep
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
        self.admitted: BreakerState | None = None
        self.probing = False

    @property
    def key(self) -> str:
        return self.policy.key

    def admit(self) -> None:
        """Let the execution through, make it the probe, or raise :class:`BreakerOpenError`."""
        state = self._read_for_admission()
        if state is None:
            return
        self.admitted = state
        now = self.clock()
        decision = state.admission(now)
        if decision is Admission.REJECT:
            raise BreakerOpenError(self._open_message(state, now))
        if decision is Admission.PROBE:
            self._elect_probe(state, now)

    def record_success(self) -> None:
        """Clear the failures of a closed breaker, or close a half-open one this execution probed.

        Nothing is written on the healthy path, and an open breaker stays open: an execution admitted
        before others opened it says nothing about the resource now; only a probe closes it.
        """
        if self.admitted is not None and self.admitted.pristine and not self.probing:
            return
        try:
            fresh = self._read()
            if fresh.pristine or fresh.state == "open" or not self._may_settle(fresh):
                return
            self._write(fresh.succeeded(self.clock()))
            self.log.info("Circuit breaker %s closed", self.key)
        except Exception as error:
            self._store_trouble("recording a success", error)

    def record_failure(self, error: BaseException) -> BreakerState | None:
        """Count one failed execution; open the breaker at the threshold and make sure OPEN sticks.

        Returns the state written, ``None`` when nothing was.
        """
        try:
            fresh = self._read()
            if fresh.state == "open" or not self._may_settle(fresh):
                return None
            after = fresh.failed(self.clock(), error_summary(error))
            self._write(after)
            if after.state == "open":
                self.log.warning(
                    "Circuit breaker %s opened after %d failure(s); next probe after %s",
                    self.key,
                    after.failure_count,
                    after.retry_at,
                )
                self._confirm_open(after)
        except Exception as trouble:
            self._store_trouble("recording a failure", trouble)
            return None
        return after

    def record_inconclusive(self) -> None:
        """A probe that failed for a configuration reason says nothing of health: free its lease."""
        if not self.probing:
            return
        try:
            fresh = self._read()
            if fresh.state == "half_open" and fresh.probe_owner == self.owner:
                self._write(fresh.released(self.clock()))
        except Exception as error:
            self._store_trouble("releasing the probe", error)

    def _may_settle(self, fresh: BreakerState) -> bool:
        """A half-open breaker is settled only by its probe (or anyone once the lease expired)."""
        if fresh.state != "half_open":
            return True
        return fresh.probe_owner == self.owner or not fresh.probe_active(self.clock())

    def _elect_probe(self, state: BreakerState, now: datetime) -> None:
        try:
            self._write(state.probing(self.owner, now, self.probe_lease))
            self.sleep(self.settle_delay)
            current = self._read()
        except Exception as error:
            self._store_trouble("claiming the probe", error, fatal=self.fail_closed)
            return
        if current.state == "closed":
            return
        if current.state == "half_open" and current.probe_owner == self.owner:
            self.probing = True
            self.log.info("Circuit breaker %s is half-open: this execution is the probe", self.key)
            return
        raise BreakerOpenError(self._open_message(current, self.clock()))

    def _confirm_open(self, opened: BreakerState) -> None:
        for _ in range(CONFIRM_ROUNDS):
            self.sleep(self.settle_delay)
            if self._read().state != "closed":
                return
            self.log.warning("Circuit breaker %s: a concurrent write closed it; writing OPEN again", self.key)
            self._write(opened.model_copy(update={"updated_at": self.clock()}))
        self.log.error(
            "Circuit breaker %s: OPEN could not be confirmed after %d rounds", self.key, CONFIRM_ROUNDS
        )

    def _read_for_admission(self) -> BreakerState | None:
        try:
            return self._read(repair=True)
        except Exception as error:
            self._store_trouble("reading the state", error, fatal=self.fail_closed)
            return None

    def _read(self, repair: bool = False) -> BreakerState:
        """The stored state with the current settings applied; absent means closed.

        A corrupt value raises :class:`BreakerStoreError` under ``breaker_fail_closed``; otherwise it is
        replaced by a fresh closed state when ``repair`` is set, and read as one.
        """
        text = self.store.get(self.key)
        settings = {
            "failure_threshold": self.policy.failure_threshold,
            "recovery_timeout": self.policy.recovery_timeout,
        }
        if text is None:
            return BreakerState(**settings)
        try:
            return BreakerState.parse(text, self.clock()).model_copy(update=settings)
        except ValueError as error:
            if self.fail_closed:
                raise BreakerStoreError(
                    f"corrupt state in Variable {self.key}: {error_summary(error)}"
                ) from error
            fresh = BreakerState(**settings)
            self.log.warning(
                "CIRCUIT BREAKER STATE CORRUPT in Variable %s (%s); %s",
                self.key,
                error_summary(error),
                "replacing it with a fresh closed state" if repair else "reading it as closed",
            )
            if repair:
                self._write(fresh)
            return fresh

    def _write(self, state: BreakerState) -> None:
        nodes = state.nodes if self.node in state.nodes else [*state.nodes, self.node]
        self.store.set(self.key, state.model_copy(update={"nodes": nodes}).model_dump_json())

    def _store_trouble(self, doing: str, error: BaseException, fatal: bool = False) -> None:
        if fatal:
            raise BreakerStoreError(
                f"circuit breaker {self.key}: {doing} failed: {error_summary(error)}"
            ) from error
        self.log.warning(
            "CIRCUIT BREAKER STORE FAILED while %s for %s (%s); the node runs without breaker protection",
            doing,
            self.key,
            error_summary(error),
        )

    def _open_message(self, state: BreakerState, now: datetime) -> str:
        if state.state == "half_open" and state.probe_active(now):
            return (
                f"circuit breaker {self.key} is half-open: a probe is running in another execution "
                f"({state.probe_owner}); executions fail fast until it settles"
            )
        if state.state == "half_open":
            return (
                f"circuit breaker {self.key} is half-open and its probe lease was released or expired "
                "while this execution claimed it; the next execution may probe"
            )
        retry_at = state.retry_at
        return (
            f"circuit breaker {self.key} is open after {state.failure_count} failure(s) "
            f"(last: {state.last_error}); it lets a probe through after "
            f"{retry_at.isoformat() if retry_at else 'its recovery timeout'}"
        )
