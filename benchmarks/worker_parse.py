"""Worker-side parse of one pipeline with many pipeline files present, against one present.

What a worker does before each task: initialize the DAG bundle (sync the generated DAG files with the
pipelines folder), then parse the one generated file of the task's DAG, with Airflow's parsing context
set. Both cases run interleaved in one process; each figure is the minimum of the repeats.

    .venv/bin/python -m benchmarks.worker_parse [--pipelines 1000] [--nodes 20] [--repeats 7]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from itertools import pairwise
from pathlib import Path
from typing import Any


def chain(dag_id: str, nodes: int) -> dict[str, Any]:
    """A pipeline: a trigger, a condition, then a chain of recording actions."""
    ids = [f"n{i}" for i in range(nodes)]
    body = [{"id": i, "type": "action", "name": i, "config": {"action": f"record_{i}"}} for i in ids[2:]]
    return {
        "name": dag_id,
        "nodes": [
            {"id": ids[0], "type": "trigger", "config": {"trigger_type": "manual"}},
            {"id": ids[1], "type": "condition", "config": {"condition": "n0.go != false"}},
            *body,
        ],
        "edges": [
            {"id": f"e{i}", "from": a, "to": b, "condition": "true" if a == ids[1] else None}
            for i, (a, b) in enumerate(pairwise(ids))
        ],
    }


def make_case(root: Path, pipelines: int, nodes: int) -> Path:
    folder = root / f"pipelines_{pipelines}"
    folder.mkdir(parents=True)
    an_hour_ago = time.time() - 3600  # deployed pipelines are not being edited as tasks start
    for index in range(pipelines):
        path = folder / f"p{index:05d}.json"
        path.write_text(json.dumps(chain(f"p{index:05d}", nodes)))
        os.utime(path, (an_hour_ago, an_hour_ago))
    return folder


def worker_parse(bundle: Any, dag_id: str) -> float:
    """Seconds a worker spends to have the task's DAG: bundle initialize, then one file's parse."""
    from airflow.dag_processing.dagbag import BundleDagBag
    from airflow.sdk.definitions.context import _AIRFLOW_PARSING_CONTEXT_DAG_ID

    os.environ[_AIRFLOW_PARSING_CONTEXT_DAG_ID] = dag_id
    started = time.perf_counter()
    bundle.initialize()
    bag = BundleDagBag(
        dag_folder=str(bundle.path / f"{dag_id}.json.py"),
        safe_mode=False,
        load_op_links=False,
        bundle_path=bundle.path,
        bundle_name=bundle.name,
    )
    elapsed = time.perf_counter() - started
    assert dag_id in bag.dags, bag.import_errors
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pipelines", type=int, default=1000)
    parser.add_argument("--nodes", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="gathering-bench-"))
    os.environ["AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_STORAGE_PATH"] = str(root / "bundles")
    from gathering_provider.bundles import PipelineBundle

    bundles = {
        count: PipelineBundle(name=f"bench_{count}", pipelines_folder=str(make_case(root, count, args.nodes)))
        for count in sorted({1, args.pipelines})
    }
    for bundle in bundles.values():
        bundle.initialize()  # the dag-processor generated the files long before a task starts
    timings: dict[int, list[float]] = {count: [] for count in bundles}
    for _ in range(args.repeats):
        for count, bundle in bundles.items():
            timings[count].append(worker_parse(bundle, "p00000"))
    best = {count: min(values) for count, values in timings.items()}
    print(f"{'pipeline files':>15}  {'worker parse, ms (min of ' + str(args.repeats) + ')':>30}")
    for count, seconds in best.items():
        print(f"{count:>15}  {seconds * 1000:>30.1f}")
    ratio = best[args.pipelines] / best[1]
    print(f"ratio {args.pipelines} / 1: {ratio:.2f}")
    print(json.dumps({"case": "worker_parse", "nodes": args.nodes, "ms": best, "ratio": round(ratio, 3)}))


if __name__ == "__main__":
    main()
