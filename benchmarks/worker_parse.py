"""Worker-side parse of one pipeline with many pipeline files present, against one present.

What a worker does before each task: initialize the DAG bundle (sync the generated DAG files with the
pipelines folder), then parse the one generated file of the task's DAG, with Airflow's parsing context
set. The dag-processor has generated the files long before.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from benchmarks.common import Mode, Row, Target, interleaved, timed
from benchmarks.shapes import bundle_of, write_pipelines

if TYPE_CHECKING:
    from airflow.dag_processing.dagbag import BundleDagBag

    from gathering_provider.bundles import PipelineBundle

DAG_ID = "p00000"


def worker_parse(bundle: PipelineBundle) -> float:
    """Seconds a worker spends to have the task's DAG: bundle initialize, then one file's parse."""
    from airflow.dag_processing.dagbag import BundleDagBag
    from airflow.sdk.definitions.context import _AIRFLOW_PARSING_CONTEXT_DAG_ID

    def parse() -> BundleDagBag:
        bundle.initialize()
        return BundleDagBag(
            dag_folder=str(bundle.path / f"{DAG_ID}.json.py"),
            safe_mode=False,
            load_op_links=False,
            bundle_path=bundle.path,
            bundle_name=bundle.name,
        )

    os.environ[_AIRFLOW_PARSING_CONTEXT_DAG_ID] = DAG_ID
    seconds, bag = timed(parse)
    if DAG_ID not in bag.dags:
        raise RuntimeError(f"{DAG_ID} not parsed: {bag.import_errors}")
    return seconds


def run(mode: Mode) -> list[Row]:
    """1,000 pipeline files of 20 nodes against 1 (smoke: 100)."""
    many = mode.pick(1000, 100)
    bundles = {}
    for count in (many, 1):
        name = f"worker_{count}"
        write_pipelines(mode.root / name, count, 20)
        bundles[count] = bundle_of(mode.root / name, name)
        mode.forked(bundles[count].initialize)
    best = interleaved(
        {str(count): lambda bundle=bundle: worker_parse(bundle) for count, bundle in bundles.items()},
        mode.repeats,
        mode.forked,
    )
    return [
        Row(
            f"worker parse, 20 nodes: {many} pipeline files / 1",
            best[str(many)],
            best["1"],
            targets=(Target(1.3),),
        )
    ]
