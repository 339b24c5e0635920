"""One pipeline of growing size: validate it, and parse it through the DAG bundle, against PythonOperator.

validate is what ``airflow gathering validate`` runs once the CLI has started: ``compile_file(path)``.
The baseline is DagBag's parse of the same DAG written by hand with PythonOperator. The full run also
times ``airflow gathering validate`` on the largest pipeline as a command, less ``airflow version``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from benchmarks.common import Mode, Row, Target, interleaved, parse_folder, timed
from benchmarks.parse import write_by_hand
from benchmarks.shapes import bundle_of, write_pipelines


def validate(path: Path) -> float:
    """Seconds ``compile_file`` takes to validate and compile ``path``."""
    from gathering_provider.compilation.pipeline_file import compile_file

    seconds, result = timed(lambda: compile_file(path))
    if result.dag is None:
        raise RuntimeError(f"{path}: {result.errors}")
    return seconds


def command_seconds(*args: str | Path) -> float:
    """Seconds an ``airflow`` command takes, start-up included."""
    airflow = Path(sys.executable).with_name("airflow")
    return timed(lambda: subprocess.run([airflow, *args], check=True, capture_output=True))[0]


def label(size: int) -> str:
    return f"{size // 1000}k nodes" if size % 1000 == 0 else f"{size} nodes"


def measure(mode: Mode, size: int) -> dict[str, float]:
    """The minimum seconds of validate, our DagBag parse and the PythonOperator DagBag parse."""
    name = f"scale_{size}"
    write_pipelines(mode.root / name / "pipelines", 1, size)
    bundle = bundle_of(mode.root / name / "pipelines", name)
    mode.forked(bundle.initialize)
    python = write_by_hand(bundle.pipelines_folder, "python", mode.root / name / "python", mode)
    path = bundle.pipelines_folder / "p00000.json"
    return interleaved(
        {
            "validate": lambda: validate(path),
            "ours": lambda: parse_folder(bundle.path, bundle.name, 1),
            "python": lambda: parse_folder(python, "python", 1),
        },
        mode.repeats,
        mode.forked,
    )


def run(mode: Mode) -> list[Row]:
    """1k, 5k and 10k nodes (smoke: 100, 500, 1k)."""
    sizes = mode.pick((1000, 5000, 10000), (100, 500, 1000))
    best = {size: measure(mode, size) for size in sizes}
    small, large = sizes[0], sizes[-1]
    validate_target = (Target(1.0, on_ratio=False, strict=True),)
    dagbag_target = (Target(2.0, strict=True), Target(30.0, on_ratio=False, strict=True))
    rows = [
        Row(
            f"{kind} {label(size)}: ours / PythonOperator DagBag parse",
            best[size][key],
            best[size]["python"],
            targets=targets if size == large else (),
            python_baseline=True,
        )
        for kind, key, targets in (
            ("validate", "validate", validate_target),
            ("DagBag parse", "ours", dagbag_target),
        )
        for size in sizes
    ]
    rows += [
        Row(
            f"{kind} growth {label(small)} → {label(large)} (baseline: PythonOperator's)",
            best[large][key] / best[small][key],
            best[large]["python"] / best[small]["python"],
            unit="x",
            targets=(Target(12.0, on_ratio=False),),
        )
        for kind, key in (("validate", "validate"), ("DagBag parse", "ours"))
    ]
    if not mode.smoke:
        path = mode.root / f"scale_{large}" / "pipelines" / "p00000.json"
        version = command_seconds("version")
        command = command_seconds("gathering", "validate", path)
        rows.append(
            Row(
                f"airflow gathering validate {label(large)}, less airflow version (once)",
                command - version,
                None,
                notes={"command_s": command, "airflow_version_s": version},
            )
        )
    return rows
