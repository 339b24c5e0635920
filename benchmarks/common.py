"""What every case shares: the environment, forked measurements, interleaved repeats, the table and JSON.

Each sample runs in a child forked from the benchmark process, as Airflow's dag-processor forks its
parsers: the parent has imported Airflow and the modules every side uses, then frozen them out of the
garbage collector. What one sample parses, caches or imports dies with its child, and the figures compare
parsing work rather than one-time imports.
"""

from __future__ import annotations

import json
import os
import pickle
import platform
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Mode:
    """How a run measures: ``smoke`` picks small sizes and few repeats; ``root`` is its scratch folder."""

    smoke: bool
    repeats: int
    root: Path
    log: Path

    def pick(self, full: T, smoke: T) -> T:
        """The full or the smoke value."""
        return smoke if self.smoke else full

    def forked(self, function: Callable[[], T]) -> T:
        """``function()``, run in a forked child (see :func:`in_fork`)."""
        return in_fork(function, self.log)


def set_environment(mode: Mode) -> None:
    """Point Airflow at scratch folders; must run before Airflow is imported."""
    for name in (
        "AIRFLOW__CORE__DAGS_FOLDER",
        "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST",
        "AIRFLOW__GATHERING__PIPELINES_FOLDER",
    ):
        os.environ.pop(name, None)
    os.environ.update(
        {
            "AIRFLOW_HOME": str(mode.root / "airflow"),
            "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_STORAGE_PATH": str(mode.root / "bundles"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
            "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "0",  # measure slow parses instead of timing them out
            # the 10,000-node case is past the default limits, which an admin raises for such pipelines
            "AIRFLOW__GATHERING__MAX_NODES": "10000",
            "AIRFLOW__GATHERING__MAX_FILE_BYTES": str(16 * 1024 * 1024),
            "AIRFLOW__DAG_FACTORY__ENABLE_TELEMETRY": "False",
            "DO_NOT_TRACK": "1",
        }
    )
    mode.log.parent.mkdir(parents=True, exist_ok=True)
    mode.log.write_text("")


@contextmanager
def quiet(log: Path) -> Iterator[None]:
    """Send whatever is written to file descriptors 1 and 2 (Airflow's logs) to ``log``."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    target = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    os.dup2(target, 1)
    os.dup2(target, 2)
    try:
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        for descriptor, original in zip((1, 2), saved, strict=True):
            os.dup2(original, descriptor)
            os.close(original)
        os.close(target)


def in_fork(function: Callable[[], T], log: Path) -> T:
    """``function()``, run in a forked child whose output goes to ``log``."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        try:
            with quiet(log):
                outcome: tuple[bool, Any] = (True, function())
        except BaseException as error:
            outcome = (False, "".join(traceback.format_exception(error)))
        with os.fdopen(write_end, "wb") as pipe:
            pickle.dump(outcome, pipe)
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        try:
            ok, value = pickle.load(pipe)
        except EOFError:
            ok, value = False, f"the child process died (see {log})"
    os.waitpid(pid, 0)
    if not ok:
        raise RuntimeError(f"measurement failed:\n{value}")
    return value


def interleaved(
    samples: dict[str, Callable[[], float]],
    repeats: int,
    run: Callable[[Callable[[], float]], float],
) -> dict[str, float]:
    """The minimum of ``repeats`` samples of each; every round takes one sample of each, in turn."""
    seen: dict[str, list[float]] = {name: [] for name in samples}
    for _ in range(repeats):
        for name, sample in samples.items():
            seen[name].append(run(sample))
    return {name: min(values) for name, values in seen.items()}


def timed(function: Callable[[], Any]) -> tuple[float, Any]:
    """Seconds ``function()`` took, and what it returned."""
    started = time.perf_counter()
    result = function()
    return time.perf_counter() - started, result


def parse_folder(folder: Path, bundle_name: str, dags: int) -> float:
    """Seconds Airflow's DagBag takes to parse the DAG files of ``folder``, which must hold ``dags`` DAGs."""
    from airflow.dag_processing.dagbag import DagBag

    seconds, bag = timed(lambda: DagBag(dag_folder=folder, bundle_path=folder, bundle_name=bundle_name))
    if bag.import_errors or len(bag.dags) != dags:
        raise RuntimeError(f"{folder}: {len(bag.dags)} DAG(s) of {dags}, import errors {bag.import_errors}")
    return seconds


CATASTROPHE = 3.0
"""A ratio to a PythonOperator baseline above this fails the run."""


@dataclass(frozen=True)
class Target:
    """An upper bound on a row's ratio (or, with ``on_ratio=False``, on its own figure)."""

    limit: float
    on_ratio: bool = True
    strict: bool = False

    def met(self, value: float) -> bool:
        return value < self.limit if self.strict else value <= self.limit

    def describe(self, unit: str) -> str:
        sign = "<" if self.strict else "≤"
        return f"{sign} {self.limit:g}x" if self.on_ratio else f"{sign} {show(self.limit, unit)}"


@dataclass
class Row:
    """One line of the table: our figure, the baseline's from the same run, and the targets."""

    case: str
    ours: float
    baseline: float | None
    unit: str = "s"
    targets: tuple[Target, ...] = ()
    python_baseline: bool = False
    """The baseline is PythonOperator: a ratio above :data:`CATASTROPHE` fails the run."""
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        return self.ours / self.baseline if self.baseline else None

    @property
    def met(self) -> bool | None:
        if not self.targets:
            return None
        values = [self.ratio if target.on_ratio else self.ours for target in self.targets]
        return all(v is not None and t.met(v) for t, v in zip(self.targets, values, strict=True))

    @property
    def catastrophic(self) -> bool:
        return self.python_baseline and self.ratio is not None and self.ratio > CATASTROPHE


def show(value: float | None, unit: str) -> str:
    """A figure for the table: seconds as ms or s, other units as they are."""
    if value is None:
        return "-"
    if unit == "s":
        return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.2f} s"
    return f"{value:.2f}{unit}"


def table(rows: list[Row]) -> str:
    """The rows as a Markdown table."""
    lines = [
        "| case | ours | baseline | ratio | target | met? |",
        "|---|---:|---:|---:|---|---|",
    ]
    for row in rows:
        ratio = f"{row.ratio:.2f}x" if row.ratio is not None else "-"
        target = " and ".join(target.describe(row.unit) for target in row.targets) or "-"
        met = {True: "yes", False: "NO", None: "-"}[row.met]
        cells = (row.case, show(row.ours, row.unit), show(row.baseline, row.unit), ratio, target, met)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    from airflow import __version__ as airflow_version
    from airflow.configuration import conf

    return {
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "airflow": airflow_version,
        "database": conf.get("database", "sql_alchemy_conn").split(":", 1)[0],
        "platform": platform.platform(),
    }


def write_json(rows: list[Row], mode: Mode, path: Path) -> None:
    """Write the machine, the mode and every row to ``path``."""
    document = {
        "machine": machine(),
        "mode": "smoke" if mode.smoke else "full",
        "repeats": mode.repeats,
        "rows": [
            {
                "case": row.case,
                "unit": row.unit,
                "ours": row.ours,
                "baseline": row.baseline,
                "ratio": row.ratio,
                "targets": [target.describe(row.unit) for target in row.targets],
                "met": row.met,
                "python_baseline": row.python_baseline,
                **row.notes,
            }
            for row in rows
        ],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
