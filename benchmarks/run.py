"""A chain run with ``dag.test()`` in one process, against a chain of PythonOperators; Variable calls.

Both DAGs are served as in a deployment, ours by the gathering DAG bundle and the baseline by a local
DAG bundle, since ``dag.test()`` re-syncs the bundle of the DAG it runs. The chain alternates agents
(simulated: no agent backend) and recording actions, so every node is healthy: its circuit breaker is
read once to admit the node and is not written.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmarks.common import Mode, Row, Target, interleaved, timed
from benchmarks.shapes import bundle_of, by_hand, chain, compiled, write_pipelines

if TYPE_CHECKING:
    from airflow.sdk import DAG

    from gathering_provider.bundles import PipelineBundle

OURS, BASELINE = "p00000", "p00000_python"


def count_variable_calls() -> Counter[str]:
    """Count the Task SDK's ``Variable.get`` and ``Variable.set`` calls in this process from now on."""
    from airflow.sdk import Variable

    calls: Counter[str] = Counter()

    def counting(name: str) -> Callable[..., Any]:
        original = getattr(Variable, name)

        def counted(*args: Any, **kwargs: Any) -> Any:
            calls[name] += 1
            return original(*args, **kwargs)

        return counted

    for name in ("get", "set"):
        setattr(Variable, name, staticmethod(counting(name)))
    return calls


def run_seconds(dag: DAG) -> float:
    """Seconds ``dag.test()`` takes to run ``dag`` to success."""
    seconds, dag_run = timed(dag.test)
    if dag_run.state != "success":
        raise RuntimeError(f"{dag.dag_id}: run {dag_run.run_id} ended {dag_run.state}")
    return seconds


def runs(bundle: PipelineBundle, baseline: Path, repeats: int) -> dict[str, float]:
    """Each DAG's minimum run time, after one warm-up run each, and the Variable calls of our last run."""
    from airflow.dag_processing.dagbag import DagBag

    dags = {
        OURS: DagBag(dag_folder=bundle.path, bundle_path=bundle.path, bundle_name=bundle.name).dags[OURS],
        BASELINE: DagBag(dag_folder=baseline, bundle_path=baseline, bundle_name="baseline").dags[BASELINE],
    }
    for dag in dags.values():
        run_seconds(dag)
    calls = count_variable_calls()

    def ours() -> float:
        calls.clear()
        return run_seconds(dags[OURS])

    best = interleaved(
        {OURS: ours, BASELINE: lambda: run_seconds(dags[BASELINE])}, repeats, lambda sample: sample()
    )
    return {**best, "reads": calls["get"], "writes": calls["set"]}


def run(mode: Mode) -> list[Row]:
    """A 20-node chain (smoke: 10)."""
    size = mode.pick(20, 10)
    root = mode.root / "run"
    write_pipelines(root / "pipelines", 1, size, shape=chain)
    bundle = bundle_of(root / "pipelines", "gathering")
    mode.forked(bundle.initialize)
    source = mode.forked(lambda: by_hand(compiled(root / "pipelines" / f"{OURS}.json"), "python", BASELINE))
    (root / "dags").mkdir()
    (root / "dags" / f"{BASELINE}.py").write_text(source)
    os.environ["AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST"] = json.dumps(
        [
            {
                "name": bundle.name,
                "classpath": "gathering_provider.bundles.PipelineBundle",
                "kwargs": {"pipelines_folder": str(bundle.pipelines_folder)},
            },
            {
                "name": "baseline",
                "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
                "kwargs": {"path": str(root / "dags")},
            },
        ]
    )
    with mode.log.open("a") as log:
        airflow = Path(sys.executable).with_name("airflow")
        subprocess.run([airflow, "db", "migrate"], check=True, stdout=log, stderr=log)
    best = mode.forked(lambda: runs(bundle, root / "dags", mode.repeats))
    guarded = size - 1  # every node but the trigger has a circuit breaker
    return [
        Row(
            f"dag.test() of a {size}-node chain, per node: ours / PythonOperator",
            best[OURS] / size,
            best[BASELINE] / size,
            python_baseline=True,
        ),
        Row(
            f"Variable reads per healthy agent/action node ({guarded})",
            best["reads"] / guarded,
            None,
            unit=" per node",
            targets=(Target(1.0, on_ratio=False),),
        ),
        Row(
            f"Variable writes per healthy agent/action node ({guarded})",
            best["writes"] / guarded,
            None,
            unit=" per node",
            targets=(Target(0.0, on_ratio=False),),
        ),
    ]
