"""Fuzzing breaker state: whatever a Variable holds (any JSON, any text, a state with any field values),
admitting an execution, recording its outcome and listing the breaker never crash, and a corrupt value is
replaced by a state every reader accepts.

A seeded subset runs in the suite; ``GATHERING_FUZZ_EXAMPLES=10000`` runs the fuzz profile (see conftest).
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import event, given
from hypothesis import strategies as st

from gathering_provider.cli.commands import _row
from gathering_provider.resilience.breaker import (
    BreakerOpenError,
    BreakerState,
    BreakerStoreError,
    CircuitBreaker,
)
from gathering_provider.resilience.settings import BreakerPolicy, dag_of, node_name
from tests.unit.test_breaker import MemoryStore

KEY = "gathering.breaker.fuzz:node"
LOG = logging.getLogger("tests.fuzz.breaker")

numbers = (
    st.integers()
    | st.floats()
    | st.sampled_from([0, -1, 1e308, -1e308, 2**63, 10**30, 30 * 86_400, 30 * 86_400 + 1e-9])
    | st.booleans()
)
offsets = st.timedeltas(
    min_value=timedelta(hours=-23, minutes=-59), max_value=timedelta(hours=23, minutes=59)
)
moments = st.builds(
    lambda moment, offset: moment.replace(tzinfo=timezone(offset)).isoformat(),
    st.datetimes(min_value=datetime.min, max_value=datetime.max),
    offsets,
)
times = (
    moments
    | st.sampled_from(["9999-12-31T23:59:59Z", "0001-01-01T00:00:00+05:00", "2026-01-01T00:00:00", "soon"])
    | st.none()
)
texts = st.text() | st.sampled_from(["\ud800", "\x00"]) | st.integers(1000, 20_000).map("x".__mul__)
anything = st.recursive(
    st.none() | st.booleans() | numbers | texts,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=12,
)
FIELDS = {
    "state": st.sampled_from(["closed", "open", "half_open"]) | texts,
    "failure_count": numbers,
    "failure_threshold": numbers,
    "recovery_timeout": numbers,
    "opened_at": times,
    "updated_at": times,
    "last_error": texts | st.none(),
    "last_error_at": times,
    "probe_owner": texts | st.none() | st.just("me"),
    "probe_expires_at": times,
    "nodes": st.lists(texts, max_size=3) | anything,
}
states = st.fixed_dictionaries({}, optional={**FIELDS, "extra": anything})
stored = (
    states.map(json.dumps)
    | anything.map(json.dumps)
    | texts
    | st.integers(1, 200_000).map(lambda depth: "[" * depth + "]" * depth)
    | st.none()
)
policies = st.builds(
    BreakerPolicy,
    key=st.just(KEY),
    failure_threshold=st.integers(1, 1_000_000),
    recovery_timeout=st.floats(min_value=1e-3, max_value=30 * 86_400),
)
clocks = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)).map(
    lambda moment: moment.replace(tzinfo=UTC)
)
outcomes = st.sampled_from(["success", "failure", "inconclusive"])


@st.composite
def sane_states(draw: st.DrawFn, now: datetime) -> str:
    """A value a breaker could have written: times around ``now``, counts and settings in range."""
    near = st.none() | st.floats(-1e7, 3000).map(lambda seconds: now + timedelta(seconds=seconds))
    state = BreakerState(
        state=draw(st.sampled_from(["closed", "open", "half_open"])),
        failure_count=draw(st.integers(0, 2_000_000)),
        failure_threshold=draw(st.integers(1, 1_000_000)),
        recovery_timeout=draw(st.floats(min_value=1e-3, max_value=30 * 86_400)),
        opened_at=draw(near),
        updated_at=draw(near),
        last_error=draw(st.none() | st.text()),
        last_error_at=draw(near),
        probe_owner=draw(st.none() | st.sampled_from(["me", "another worker"])),
        probe_expires_at=draw(near),
        nodes=draw(st.lists(st.text(), max_size=3)),
    )
    return state.model_dump_json()


@st.composite
def mutated_states(draw: st.DrawFn, now: datetime) -> str:
    """A sane value with some fields replaced by arbitrary values."""
    state = json.loads(draw(sane_states(now)))
    for name in draw(st.lists(st.sampled_from(sorted(FIELDS)), min_size=1, max_size=3, unique=True)):
        state[name] = draw(FIELDS[name])
    return json.dumps(state)


def parsed(text: str | None, now: datetime) -> BreakerState | None:
    """The stored state as a reader sees it: ``None`` when corrupt (or absent)."""
    if text is None:
        return None
    try:
        return BreakerState.parse(text, now)
    except ValueError:
        return None


@given(data=st.data(), policy=policies, now=clocks, outcome=outcomes, fail_closed=st.booleans())
def test_any_stored_value_is_admitted_recorded_and_listed(data, policy, now, outcome, fail_closed):
    text = data.draw(stored | sane_states(now) | mutated_states(now), label="stored")
    store = MemoryStore({} if text is None else {KEY: text})
    before = parsed(text, now)
    corrupt = text is not None and before is None
    event("stored: " + ("absent" if text is None else "corrupt" if corrupt else before.state))
    breaker = CircuitBreaker(
        policy,
        store,
        node_name("fuzz", "node"),
        LOG,
        fail_closed=fail_closed,
        settle_delay=0.0,
        probe_lease=300.0,
        clock=lambda: now,
        sleep=lambda seconds: None,
    )

    try:
        breaker.admit()
    except BreakerOpenError:
        assert before is not None and before.state != "closed"
        event("admit: failed fast")
        return
    except BreakerStoreError:
        assert fail_closed and corrupt and store.values[KEY] == text  # left for inspection
        return
    if corrupt:  # failed open and repaired
        repaired = BreakerState.parse(store.values[KEY], now)
        assert (repaired.state, repaired.failure_count) == ("closed", 0)
    if outcome == "success":
        breaker.record_success()
    elif outcome == "failure":
        breaker.record_failure(ConnectionError("GET http://user:secret@host/x failed"))
    else:
        breaker.record_inconclusive()

    after = store.values.get(KEY)
    if after is not None:
        state = BreakerState.parse(after, now)  # every value written is one a reader accepts
        assert "secret" not in (state.last_error or "")
        json.dumps(_row(KEY, state), allow_nan=False)
    json.dumps(_row(KEY, before), allow_nan=False)


@given(text=stored, now=clocks)
def test_parse_accepts_a_value_or_refuses_it_with_a_value_error(text, now):
    state = parsed(text, now)
    if state is not None:
        assert BreakerState.parse(state.model_dump_json(), now) == state
        _row(KEY, state)


airflow_ids = st.text(alphabet="abcXYZ019_.-", min_size=1, max_size=20)


@given(dag_id=airflow_ids, node_id=airflow_ids, other=texts)
def test_node_names_are_unambiguous(dag_id, node_id, other):
    assert dag_of(node_name(dag_id, node_id)) == dag_id
    found = dag_of(other)
    assert found is None or node_name(found, other.partition(":")[2]) == other
