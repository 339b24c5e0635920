"""Fuzzing the loader, the validator and the bundle's build with hostile pipeline text.

For every input: validate answers (problems that serialize as ``--output json`` does, no exception), and
its verdict is the bundle's: text validate accepts becomes a DAG when Airflow imports the generated DAG
file, and that DAG serializes as the dag-processor stores it; text it refuses is an import error. In the
fuzz run each answer must also come within 2 s and 500 MB.
"""

from __future__ import annotations

import json
import resource
import time
from pathlib import Path
from typing import Any

import yaml
from airflow.dag_processing.dagbag import DagBag
from airflow.serialization.serialized_objects import DagSerialization
from hypothesis import given
from hypothesis import strategies as st

from gathering_provider.bundles.dag_file import render
from gathering_provider.compilation.pipeline_file import compile_text
from gathering_provider.definition.models import NODE_TYPES
from tests.fuzz.conftest import FUZZING

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = [
    yaml.safe_load(path.read_text())
    for path in sorted([*(REPO / "dags" / "pipelines").iterdir(), *(REPO / "tests" / "fixtures").iterdir()])
]
MEMORY_BUDGET_KIB = 500 * 1024


def check(tmp_path: Path, name: str, text: str) -> None:
    """The invariant, for the pipeline file ``name`` holding ``text``."""
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    result = compile_text(Path(name), text)
    elapsed = time.perf_counter() - started
    json.dumps([problem.model_dump(mode="json") for problem in result.problems])
    if FUZZING:
        assert elapsed < 2, f"validate took {elapsed:.2f} s"
        grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before
        assert grown < MEMORY_BUDGET_KIB, f"validate grew the process by {grown} KiB"

    generated = tmp_path / f"{name}.py"
    generated.write_text(render(name, text), encoding="utf-8")
    bag = DagBag(dag_folder=str(generated), safe_mode=False)
    if result.errors:
        assert not bag.dags and bag.import_errors, "validate refused what the bundle builds"
    else:
        assert not bag.import_errors, bag.import_errors
        dags = list(bag.dags.values())
        assert len(dags) == (0 if result.validation.is_draft else 1)
        for dag in dags:
            DagSerialization.to_dict(dag)


# ------------------------------------------------------------------------------------------ strategies

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(10**40), max_value=10**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.floats(min_value=-1e308, max_value=1e308)
    | st.text(max_size=30)
    | st.sampled_from(
        ["", ".md", "/etc/hostname.md", "__file__", "yes", "no", "010", "0x1F", "12:30", "true"]
    )
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)
ids = st.sampled_from(["a", "b", "c", "d", "start", "__file__", "010", "x.y", "bad id", ""]) | st.integers(
    0, 3
)
config_keys = st.sampled_from(
    [
        "trigger_type", "cron", "event", "agent_id", "task", "condition", "action", "url", "method",
        "headers", "seconds", "deferrable", "max_retries", "backoff_max", "recovery_timeout", "timeout",
        "breaker", "breaker_key", "failure_threshold", "payload", "tool_name", "conn_id", "llm_conn_id",
        "pipeline", "wait", "conf", "json", "params",
    ]
)  # fmt: skip
config_values = (
    values
    | st.sampled_from(
        [
            "schedule", "event", "manual", "0 0 30 2 *", "* * * * *", "@continuous", "airflow://x",
            "call_api", "send_notification", "execute_pipeline", "record", "http://127.0.0.1:9/x",
            "a.result == true", "a.result and not b", "(((", "start.x in [1, 2]", 1e20, -1, 0, 7,
        ]
    )
)  # fmt: skip
nodes = st.fixed_dictionaries(
    {"id": ids, "type": st.sampled_from([*NODE_TYPES, "agnet", 3])},
    optional={
        "name": st.text(max_size=20),
        "config": st.dictionaries(config_keys, config_values, max_size=5),
    },
)
edges = st.fixed_dictionaries(
    {"id": ids, "from": ids, "to": ids},
    optional={"condition": st.sampled_from(["true", "false", "yes", "high", "", True]) | values},
)
pipeline_fields = st.sampled_from(
    [
        "schedule", "description", "status", "timeout_seconds", "task_retries", "task_retry_delay",
        "tags", "owner", "params", "dag_id", "breaker", "max_retries_per_node", "retry_backoff_max",
    ]
)  # fmt: skip
documents = st.fixed_dictionaries(
    {"nodes": st.lists(nodes, max_size=6), "edges": st.lists(edges, max_size=6)},
    optional={"name": st.text(max_size=20)},
).flatmap(
    lambda doc: st.dictionaries(pipeline_fields, config_values, max_size=4).map(
        lambda extra: {**doc, **extra}
    )
)


@st.composite
def mutated_examples(draw: st.DrawFn) -> Any:
    """A real pipeline with a few values replaced, removed or duplicated."""
    document = json.loads(json.dumps(draw(st.sampled_from(EXAMPLES))))
    for _ in range(draw(st.integers(1, 4))):
        parent, key = document, None
        for _ in range(draw(st.integers(1, 5))):
            child = parent[key] if key is not None else parent
            if isinstance(child, dict) and child:
                parent, key = child, draw(st.sampled_from(sorted(child)))
            elif isinstance(child, list) and child:
                parent, key = child, draw(st.integers(0, len(child) - 1))
            else:
                break
        if key is None:
            continue
        action = draw(st.sampled_from(["replace", "remove", "duplicate"]))
        if action == "replace":
            parent[key] = draw(config_values)
        elif action == "remove":
            del parent[key]
        elif isinstance(parent, list):
            parent.append(parent[key])
    return document


def as_text(document: Any, yaml_form: bool) -> str:
    if yaml_form:
        return yaml.safe_dump(document, allow_unicode=True)
    return json.dumps(document, allow_nan=True)


@st.composite
def hostile_texts(draw: st.DrawFn) -> tuple[str, str]:
    """Text no editor writes: alias bombs, deep nesting, huge numbers, broken syntax."""
    kind = draw(st.sampled_from(["bomb", "deep", "number", "garbage", "cut"]))
    if kind == "bomb":
        width, depth = draw(st.integers(2, 12)), draw(st.integers(2, 12))
        lines = [f"a0: &a0 [{', '.join(['x'] * width)}]"]
        lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * width)}]" for i in range(1, depth)]
        return "bomb.yaml", "\n".join([*lines, f"params: {{p: {{default: *a{depth - 1}}}}}", "nodes: []"])
    if kind == "deep":
        depth, brackets = draw(st.integers(10, 5000)), draw(st.sampled_from(["[]", "{}"]))
        opened, closed = ('{"a": ', "}") if brackets == "{}" else ("[", "]")
        text = opened * depth + "1" + closed * depth
        return draw(
            st.sampled_from(["deep.json", "deep.yaml"])
        ), f'{{"name": "x", "params": {{"p": {text}}}}}'
    if kind == "number":
        digits = draw(st.integers(10, 6000))
        return draw(st.sampled_from(["n.json", "n.yaml"])), f'{{"name": "x", "task_retries": {"9" * digits}}}'
    if kind == "garbage":
        return draw(st.sampled_from(["g.json", "g.yaml", "g.yml"])), draw(st.text(max_size=300))
    text = as_text(draw(st.sampled_from(EXAMPLES)), yaml_form=draw(st.booleans()))
    cut = draw(st.integers(0, len(text)))
    return draw(st.sampled_from(["cut.json", "cut.yaml"])), text[:cut] + draw(st.text(max_size=5)) + text[
        cut:
    ]


# -------------------------------------------------------------------------------------------- targets


@given(document=documents, yaml_form=st.booleans())
def test_generated_pipelines(tmp_path_factory, document, yaml_form):
    name = "p.yaml" if yaml_form else "p.json"
    check(tmp_path_factory.mktemp("gen"), name, as_text(document, yaml_form))


@given(document=mutated_examples(), yaml_form=st.booleans())
def test_mutated_examples(tmp_path_factory, document, yaml_form):
    name = "m.yaml" if yaml_form else "m.json"
    check(tmp_path_factory.mktemp("mut"), name, as_text(document, yaml_form))


@given(named=hostile_texts())
def test_hostile_texts(tmp_path_factory, named):
    name, text = named
    check(tmp_path_factory.mktemp("hostile"), name, text)
