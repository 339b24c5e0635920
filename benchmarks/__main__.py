"""Run every benchmark case, print the table and write the results as JSON.

    .venv/bin/python -m benchmarks [--smoke] [--output .bench/results.json]

Every figure is a ratio to a baseline measured in the same run, each side the minimum of interleaved
repeats. ``--smoke`` runs small sizes with few repeats; either way the exit status is 1 when any ratio
to a PythonOperator baseline exceeds 3x. Airflow's own output goes to the ``.log`` beside the JSON.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import shutil
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import CATASTROPHE, Mode, quiet, set_environment, table, write_json

FAMILIES = ("parse", "dag_factory", "worker_parse", "scale", "run")
PRELOAD = (
    "airflow.dag_processing.dagbag",
    "airflow.providers.standard.operators.empty",
    "airflow.providers.standard.operators.python",
    "airflow.timetables.base",  # what the first DAG of a process imports
    "dagfactory",
    "gathering_provider.bundles.dag_file",
    "gathering_provider.compilation.pipeline_file",
)


def preload() -> None:
    """Import what every side's DAG files use, once, before the measurements fork."""
    for module in PRELOAD:
        importlib.import_module(module)


def main() -> None:
    started = time.perf_counter()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="small sizes and few repeats (about a minute)")
    parser.add_argument("--case", action="append", choices=FAMILIES, help="only this family (repeatable)")
    parser.add_argument("--output", type=Path, default=Path(".bench/results.json"), help="the JSON results")
    args = parser.parse_args()
    log = args.output.with_suffix(".log")
    root = Path(tempfile.mkdtemp(prefix="gathering-bench-"))
    mode = Mode(smoke=args.smoke, repeats=2 if args.smoke else 5, root=root, log=log)
    set_environment(mode)
    with quiet(log):
        preload()
    gc.freeze()  # as Airflow's dag-processor does before it forks its parsers
    rows = []
    try:
        for name in args.case or FAMILIES:
            print(f"{name} ...", file=sys.stderr, flush=True)
            rows += importlib.import_module(f"benchmarks.{name}").run(mode)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    write_json(rows, mode, args.output)
    print(table(rows))
    elapsed = time.perf_counter() - started
    print(f"\n{'smoke' if mode.smoke else 'full'} run: {elapsed:.0f} s; results {args.output}, log {log}")
    catastrophic = [row.case for row in rows if row.catastrophic]
    if catastrophic:
        print(f"over {CATASTROPHE:g}x a PythonOperator baseline: {'; '.join(catastrophic)}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
