"""Parse through the DAG bundle, against the same DAGs written by hand as Python DAG files.

The dag-processor's view: the bundle has synced its generated DAG files beforehand, and Airflow's DagBag
parses the folder. The hand-written files hold the same tasks, configs and edges, written with our
operator classes, or with EmptyOperator for the trigger and PythonOperator for other nodes.
"""

from __future__ import annotations

from pathlib import Path

from benchmarks.common import Mode, Row, Target, interleaved, parse_folder
from benchmarks.shapes import Flavor, bundle_of, by_hand, compiled, write_pipelines


def write_by_hand(pipelines: Path, flavor: Flavor, target: Path, mode: Mode) -> Path:
    """Write the hand-written DAG file of every pipeline file of ``pipelines`` into ``target``."""
    paths = sorted(pipelines.iterdir())
    sources = mode.forked(lambda: [by_hand(compiled(path), flavor) for path in paths])
    target.mkdir(parents=True)
    for path, source in zip(paths, sources, strict=True):
        (target / f"{path.stem}.py").write_text(source)
    return target


def measure(mode: Mode, count: int, size: int) -> list[Row]:
    """Rows for ``count`` pipelines of ``size`` nodes."""
    name = f"parse_{count}x{size}"
    write_pipelines(mode.root / name / "pipelines", count, size)
    bundle = bundle_of(mode.root / name / "pipelines", name)
    mode.forked(bundle.initialize)
    operators = write_by_hand(bundle.pipelines_folder, "ours", mode.root / name / "operators", mode)
    python = write_by_hand(bundle.pipelines_folder, "python", mode.root / name / "python", mode)
    best = interleaved(
        {
            "ours": lambda: parse_folder(bundle.path, bundle.name, count),
            "operators": lambda: parse_folder(operators, "operators", count),
            "python": lambda: parse_folder(python, "python", count),
        },
        mode.repeats,
        mode.forked,
    )
    shape = f"{count} x {size} nodes"
    return [
        Row(
            f"parse {shape}: ours / our operators by hand",
            best["ours"],
            best["operators"],
            targets=(Target(1.15),),
        ),
        Row(
            f"parse {shape}: ours / PythonOperator by hand",
            best["ours"],
            best["python"],
            targets=(Target(1.6),),
            python_baseline=True,
        ),
    ]


def run(mode: Mode) -> list[Row]:
    """100 pipelines of 20 nodes, and 1 of 1,000 (smoke: 20 of 20, 1 of 200)."""
    shapes = mode.pick(((100, 20), (1, 1000)), ((20, 20), (1, 200)))
    return [row for count, size in shapes for row in measure(mode, count, size)]
