"""One pipeline file to one DAG, or to the problems that keep it from being one.

This is the single road every entry point takes: the DAG bundle's generated DAG files,
``airflow gathering validate`` and the tests. Validation runs first; then the DAG is built, and anything
Airflow refuses while building it is a problem of the file too, so validate and the build never disagree.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from airflow.sdk import DAG

from gathering_provider.compilation.dag_builder import build_dag
from gathering_provider.compilation.pipeline_set import check_together
from gathering_provider.definition.loader import pipeline_files
from gathering_provider.validation.problems import Problem
from gathering_provider.validation.validator import ValidationResult, validate_file, validate_text


@dataclass
class CompiledPipeline:
    """A pipeline file's outcome: its validation and, when it has no errors and is no draft, its DAG."""

    validation: ValidationResult
    dag: DAG | None = None

    @property
    def problems(self) -> list[Problem]:
        """Every problem of the file."""
        return self.validation.problems

    @property
    def errors(self) -> list[Problem]:
        """The problems that keep the file from becoming a DAG."""
        return self.validation.errors


def compile_validated(validation: ValidationResult) -> CompiledPipeline:
    """Build the DAG of a validated file; a build failure becomes the file's ``invalid-dag`` error."""
    pipeline = validation.pipeline
    if pipeline is None or validation.is_draft:
        return CompiledPipeline(validation)
    try:
        return CompiledPipeline(validation, build_dag(pipeline, validation.dag_id))
    except Exception as err:  # whatever Airflow refuses while building: the file cannot become a DAG
        validation.error("invalid-dag", f"Airflow refuses the DAG: {type(err).__name__}: {err}")
        validation.pipeline = None
        return CompiledPipeline(validation)


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector, then restore it.

    Compiling allocates many long-lived objects (models, operators) and no cyclic garbage to speak of;
    each automatic full collection walks every live object, which makes a large pipeline's compile time
    grow faster than its size.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def compile_text(path: Path, text: str) -> CompiledPipeline:
    """Validate and compile the text of the pipeline file ``path``."""
    with collector_paused():
        return compile_validated(validate_text(path, text))


def compile_file(path: Path) -> CompiledPipeline:
    """Validate and compile the pipeline file ``path``."""
    with collector_paused():
        return compile_validated(validate_file(path))


def compile_paths(paths: Iterable[Path]) -> list[CompiledPipeline]:
    """Compile files and the pipeline files inside folders, then check them together (see
    :mod:`~gathering_provider.compilation.pipeline_set`): a file with errors from those checks has no DAG."""
    compiled = [compile_file(path) for path in pipeline_files(paths)]
    check_together([item.validation for item in compiled])
    for item in compiled:
        if item.errors:
            item.validation.pipeline = item.dag = None
    return compiled
